"""Loading Prometheus rule files: unchanged files load, mistakes are reported with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.core.errors import ConfigError
from watchkeeper.rules.loader import load_rule_text, resolve_rule_files

GOOD = """
groups:
  - name: api
    interval: 30s
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: HighErrorRate
        expr: job:http_requests:rate5m{code="500"} > 1
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} errors at {{ $value | humanize }}"
"""


def test_a_prometheus_rule_file_loads_unchanged() -> None:
    (group,) = load_rule_text(GOOD, "api.rules.yml")
    assert group.key == "api.rules.yml;api"
    assert group.config.interval == 30
    rec, alert = group.config.rules
    assert rec.record == "job:http_requests:rate5m"
    assert alert.for_ == 600
    assert alert.keep_firing_for == 300


def test_every_problem_is_reported_with_its_file_and_line() -> None:
    text = """groups:
  - name: g
    rules:
      - alert: Bad
        expr: rate(x)
      - record: "not a name"
        expr: up
      - alert: Tpl
        expr: up == 0
        annotations:
          summary: "{{ nope $value }}"
      - alert: Both
        record: both
        expr: up
"""
    with pytest.raises(ConfigError) as info:
        load_rule_text(text, "r.yml")
    problems = info.value.problems
    assert any(p.startswith("r.yml:6:") and "not a valid metric name" in p for p in problems)
    assert any(
        p.startswith("r.yml:12:") and "exactly one of 'alert' or 'record'" in p for p in problems
    )
    text2 = text.replace('record: "not a name"', "record: ok").replace("        record: both\n", "")
    with pytest.raises(ConfigError) as info2:
        load_rule_text(text2, "r.yml")
    problems2 = info2.value.problems
    assert any(p.startswith("r.yml:5:") and "invalid PromQL" in p for p in problems2)
    assert any(
        p.startswith("r.yml:11:") and "unknown template function or variable 'nope'" in p
        for p in problems2
    )


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"r.yml:4: groups\[0\].rules\[0\].expresion: unknown field"
    ):
        load_rule_text(
            "groups:\n  - name: g\n    rules:\n      - expresion: up\n        alert: A\n", "r.yml"
        )


def test_a_glob_that_matches_nothing_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("groups: []\n")
    files, problems = resolve_rule_files(["*.yml", "missing/*.yml"], tmp_path)
    assert files == [tmp_path / "a.yml"]
    assert len(problems) == 1
    assert "missing/*.yml" in problems[0]
