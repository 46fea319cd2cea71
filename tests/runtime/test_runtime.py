"""The whole loop in one process: a target is scraped, a rule fires, the webhook receives
an Alertmanager v4 payload; a restart does not page again; reload swaps config atomically."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

import pytest

from watchkeeper.collect.targets import build_targets
from watchkeeper.config.loader import load_config
from watchkeeper.core.enums import CheckStatus
from watchkeeper.core.errors import ConfigError
from watchkeeper.runtime.app import Runtime
from watchkeeper.testing.targets import FakeTarget
from watchkeeper.testing.webhook_sink import SinkDelivery, WebhookSink

RULES = """groups:
  - name: app
    interval: 1s
    rules:
      - alert: QueueTooLong
        expr: queue_length > 10
        labels: {severity: critical}
        annotations:
          summary: "queue of {{ $labels.service }} is {{ $value }}"
"""


def write_config(tmp: Path, target_url: str, hook_url: str, extra_service: str = "") -> Path:
    (tmp / "rules.yml").write_text(RULES)
    path = tmp / "watchkeeper.yaml"
    path.write_text(
        f"""storage: {{path: data}}
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
services:
  - name: worker
    checks:
      - type: scrape
        name: metrics
        url: {target_url}/metrics
{extra_service}
rule_files: [rules.yml]
alerting:
  route: {{receiver: hook, group_by: [alertname, service], group_wait: 0s, group_interval: 1s}}
  receivers:
    - name: hook
      webhook_configs: [{{url: "{hook_url}"}}]
"""
    )
    return path


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


def firing(sink: WebhookSink) -> list[SinkDelivery]:
    return [d for d in sink.deliveries() if d.status == "firing"]


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget("worker")


async def test_a_rule_fires_and_resolves_with_an_alertmanager_v4_payload(
    tmp_path: Path, target: FakeTarget
) -> None:
    target.set_gauge("queue_length", 1.0)
    async with WebhookSink() as sink:
        server = target.serve()
        server.start()
        try:
            rt = Runtime.from_config(write_config(tmp_path, server.url, sink.url_for("hook")))
            await rt.start()
            try:
                await wait_for(lambda: rt.scheduler.statuses()[0].runs >= 2)
                target.set_gauge("queue_length", 42.0)
                await wait_for(lambda: bool(firing(sink)))
                payload = firing(sink)[0].payload
                assert payload["version"] == "4"
                assert payload["receiver"] == "hook"
                assert payload["groupLabels"] == {"alertname": "QueueTooLong", "service": "worker"}
                (alert,) = payload["alerts"]
                assert alert["labels"]["severity"] == "critical"
                assert alert["labels"]["job"] == "worker"
                assert alert["annotations"]["summary"] == "queue of worker is 42"
                assert alert["generatorURL"].endswith("/explore?expr=queue_length%20%3E%2010")
                target.set_gauge("queue_length", 0.0)
                await wait_for(lambda: any(d.status == "resolved" for d in sink.deliveries()))
            finally:
                await rt.stop()
        finally:
            server.stop()


async def test_a_restart_while_an_alert_fires_does_not_page_again(
    tmp_path: Path, target: FakeTarget
) -> None:
    target.set_gauge("queue_length", 42.0)
    async with WebhookSink() as sink:
        server = target.serve()
        server.start()
        try:
            config = write_config(tmp_path, server.url, sink.url_for("hook"))
            rt = Runtime.from_config(config)
            await rt.start()
            await wait_for(lambda: bool(firing(sink)))
            await rt.stop()
            rt = Runtime.from_config(config)
            await rt.start()
            try:
                await wait_for(lambda: rt.scheduler.statuses()[0].runs >= 4)
                await asyncio.sleep(1.5)  # several evaluations and group intervals
                assert len(firing(sink)) == 1
            finally:
                await rt.stop()
        finally:
            server.stop()


async def test_reload_adds_targets_and_a_bad_config_changes_nothing(
    tmp_path: Path, target: FakeTarget
) -> None:
    async with WebhookSink() as sink:
        server = target.serve()
        server.start()
        try:
            config = write_config(tmp_path, server.url, sink.url_for("hook"))
            rt = Runtime.from_config(config)
            await rt.start()
            try:
                assert [t.key for t in rt.scheduler.targets()] == ["worker/metrics"]
                extra = (
                    "  - name: web\n    checks:\n      - type: http\n"
                    f"        url: {server.url}/health\n"
                )
                write_config(tmp_path, server.url, sink.url_for("hook"), extra)
                await rt.reload()
                assert sorted(t.key for t in rt.scheduler.targets()) == [
                    "web/http",
                    "worker/metrics",
                ]
                config.write_text(
                    config.read_text().replace("receiver: hook,", "receiver: nobody,")
                )
                with pytest.raises(ConfigError, match="undefined receiver 'nobody'"):
                    await rt.reload()
                assert sorted(t.key for t in rt.scheduler.targets()) == [
                    "web/http",
                    "worker/metrics",
                ]
                assert rt.config.alerting.route.receiver == "hook"
            finally:
                await rt.stop()
        finally:
            server.stop()


def test_a_config_path_is_loaded_relative_to_its_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9/hook")
    loaded = load_config(path)
    assert loaded.base_dir == tmp_path


async def test_a_runtime_stopped_without_being_started_closes_what_its_checks_opened(
    tmp_path: Path, target: FakeTarget
) -> None:
    """Readiness and the API run checks on a runtime that was never started; its scrape
    sessions must be closed by stop() all the same."""
    with target.serve() as server:
        rt = Runtime.from_config(write_config(tmp_path, server.url, "http://127.0.0.1:9/"))
        await rt.scheduler.reconfigure(build_targets(rt.config))
        assert (await rt.scheduler.run_once("worker/metrics")).status is CheckStatus.UP
        await rt.stop()
    gc.collect()  # an unclosed session or connection warns here, and warnings are errors
