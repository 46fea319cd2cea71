"""Targets built from the root config, and the label scheme."""

from __future__ import annotations

import pytest

from watchkeeper.collect.registry import COLLECTORS, build_collector
from watchkeeper.collect.targets import build_targets
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.errors import ConfigError

CONFIG = """
global:
  scrape_interval: 30s
  scrape_timeout: 10s
services:
  - name: backend
    labels: {team: core}
    checks:
      - type: http
        url: https://api.example.test/health
        interval: 1m
      - type: scrape
        name: metrics
        url: http://127.0.0.1:9100/metrics
        job: node
        timeout: 5s
        labels: {env: prod}
      - type: http
        name: disabled
        url: https://api.example.test/
        enabled: false
"""


def test_build_targets_applies_defaults_and_the_label_scheme() -> None:
    cfg = load_config_text(CONFIG).config
    targets = build_targets(cfg)
    assert [t.key for t in targets] == ["backend/http", "backend/metrics"]
    http, scrape = (t.target for t in targets)
    assert (http.interval, http.timeout) == (60.0, 10.0)
    assert (scrape.interval, scrape.timeout) == (30.0, 5.0)
    assert http.labels.to_dict() == {
        "service": "backend",
        "check": "http",
        "job": "backend",
        "instance": "https://api.example.test/health",
        "team": "core",
    }
    assert scrape.labels.to_dict() == {
        "service": "backend",
        "check": "metrics",
        "job": "node",
        "instance": "127.0.0.1:9100",
        "team": "core",
        "env": "prod",
    }
    assert scrape.kind == "scrape"


def test_timeout_longer_than_interval_is_a_problem_at_its_field() -> None:
    text = (
        "services:\n  - name: a\n    checks:\n      - type: http\n        url: http://x.test/\n"
        "        interval: 10s\n        timeout: 20s\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    assert err.value.problems == [
        "watchkeeper.yaml:7: services[0].checks[0].timeout: timeout (20s) is longer than the "
        "interval (10s); a check never overlaps itself, so make the timeout at most the interval"
    ]


def test_reserved_labels_are_refused_with_file_and_line() -> None:
    text = (
        "services:\n  - name: a\n    checks:\n      - type: http\n        url: http://x.test/\n"
        "        labels: {service: other}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    assert err.value.problems == [
        "watchkeeper.yaml:6: services[0].checks[0].labels: label 'service' is set by "
        "Watchkeeper (service and check names); remove it from labels"
    ]


def test_every_registry_entry_builds_from_its_config_model() -> None:
    from watchkeeper.collect.base import CollectorDeps
    from watchkeeper.core.clock import FakeClock

    cfg = load_config_text(CONFIG).config
    for st in build_targets(cfg):
        assert st.target.kind in COLLECTORS
        import httpx

        collector = build_collector(st, CollectorDeps(clock=FakeClock(), http=httpx.AsyncClient()))
        assert collector.kind == st.target.kind
