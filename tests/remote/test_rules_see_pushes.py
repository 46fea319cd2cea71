"""Rules see pushed samples exactly like scraped ones: a push wakes the rule manager's
event-driven evaluation (the rule interval is an hour and the clock never moves)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import httpx

from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.clock import FakeClock
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.rules.loader import load_rule_text
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import PushApp, body

RULES = """
groups:
  - name: push
    interval: 1h
    rules:
      - alert: QueueBacklog
        expr: queue_depth > 100
        labels: {severity: page}
      - record: queue:depth:max
        expr: max(queue_depth)
"""


class ListSink:
    def __init__(self) -> None:
        self.alerts: list[AlertInput] = []

    async def put(self, alerts: Sequence[AlertInput]) -> None:
        self.alerts.extend(alerts)


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_a_remote_write_push_fires_the_alert_that_reads_it_without_an_interval_tick(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore, fake_clock: FakeClock
) -> None:
    engine = Engine(store, clock=fake_clock)
    sink = ListSink()
    manager = RuleManager(
        query=engine.samples,
        metrics_of=referenced_metrics,
        store=store,
        sink=sink,
        clock=fake_clock,
        options=RuleManagerOptions(default_interval=3600),
    )
    manager.load(load_rule_text(RULES, "push.rules.yml"))
    await manager.start()
    try:
        now_ms = int(fake_clock.now() * 1000)
        quiet = [({"__name__": "queue_depth", "job": "worker"}, [(now_ms - 1000, 5.0)])]
        response = await client.post(
            "/prometheus/api/v1/write", content=body(quiet), headers=pushed.headers()
        )
        assert response.status_code == 204
        await wait_for(lambda: manager.groups[0].last_evaluation is not None)
        assert sink.alerts == []
        fake_clock.set(fake_clock.now() + 1)  # later than the minimum event spacing
        busy = [({"__name__": "queue_depth", "job": "worker"}, [(now_ms + 1000, 500.0)])]
        response = await client.post(
            "/prometheus/api/v1/write", content=body(busy), headers=pushed.headers()
        )
        assert response.status_code == 204
        await wait_for(lambda: bool(sink.alerts))
    finally:
        await manager.stop()
    (alert,) = sink.alerts
    assert alert.labels["alertname"] == "QueueBacklog"
    assert alert.labels["job"] == "worker"
    assert alert.value == 500.0
    recorded = engine.samples("queue:depth:max", fake_clock.now())
    assert [value for _, value in recorded] == [500.0]
