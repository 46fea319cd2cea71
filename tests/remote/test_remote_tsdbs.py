"""Watchkeeper's sender against real remote TSDBs (VictoriaMetrics, Prometheus' receiver),
its persistent queue across a restart while VictoriaMetrics is down, and rules, the query
API and the series reader answered through ``storage.query_url``."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from conftest import require
from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql import Engine, Vector
from watchkeeper.promql.api import build_router
from watchkeeper.remote.config import RemoteWriteConfig
from watchkeeper.remote.query import QueryEngine, RemotePromQL
from watchkeeper.remote.reader import RemoteSeriesReader
from watchkeeper.remote.writer import RemoteWriteMetrics, RemoteWriter
from watchkeeper.rules.loader import load_rule_text
from watchkeeper.rules.manager import RuleManager
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import Principal, PrincipalKind
from watchkeeper.testing.server import free_port
from watchkeeper.tsdb.base import Sample, SeriesStore
from watchkeeper.tsdb.embedded import EmbeddedStore

from .conftest import need_vm
from .support import metric
from .tsdbs import (
    TSDBProcess,
    prometheus_binary,
    start_prometheus,
    start_victoriametrics,
    vm_force_flush,
)

STEP_MS = 1000
POINTS = 120


def dataset(end_ms: int) -> list[Sample]:
    """Three gauges and a counter, one point a second for two minutes before ``end_ms``."""
    out: list[Sample] = []
    start = end_ms - (POINTS - 1) * STEP_MS
    for i in range(POINTS):
        t = start + i * STEP_MS
        for inst in ("a", "b", "c"):
            labels = Labels({"__name__": "queue_depth", "job": "worker", "instance": inst})
            out.append((labels, t, float((i * 7 + ord(inst)) % 50)))
        counter = Labels({"__name__": "jobs_total", "job": "worker", "instance": "a"})
        out.append((counter, t, float(i * 3)))
    return out


def writer_to(
    url: str, directory: Path, registry: CollectorRegistry | None = None, name: str = "remote"
) -> RemoteWriter:
    cfg = RemoteWriteConfig.model_validate(
        {
            "url": url,
            "name": name,
            "queue": {"max_samples_per_send": 100, "batch_send_deadline": "1s"},
        }
    )
    return RemoteWriter(
        cfg, directory=directory, clock=SystemClock(), metrics=RemoteWriteMetrics(registry)
    )


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def deliver(writer: RemoteWriter, samples: Sequence[Sample]) -> None:
    await writer.start()
    try:
        writer.enqueue(samples)
        await writer.flush()
        await until(lambda: writer.queue.depth().samples == 0)
    finally:
        await writer.stop()


def local(samples: Sequence[Sample]) -> EmbeddedStore:
    store = EmbeddedStore.memory(clock=SystemClock())
    store.append(samples, source="test")
    return store


def values(result: object) -> dict[Labels, float]:
    assert isinstance(result, Vector), result
    return {s.labels: s.value for s in result}


def assert_close(a: dict[Labels, float], b: dict[Labels, float]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert math.isclose(value, b[key], rel_tol=1e-9), (key, value, b[key])


# Queries whose semantics VictoriaMetrics' MetricsQL shares with PromQL (its rate() does
# not extrapolate, so rates are compared against Prometheus only, and some of its
# functions keep the metric name, so those are wrapped in an aggregation).
SHARED = [
    "queue_depth",
    "sum(queue_depth)",
    "count by (job) (queue_depth)",
    "max by (instance) (max_over_time(queue_depth[30s]))",
    "queue_depth > 20",
    "jobs_total",
]


@pytest.mark.victoriametrics
async def test_the_sender_delivers_to_victoriametrics_and_query_url_answers(
    vm: TSDBProcess, tmp_path: Path
) -> None:
    end_ms = (int(SystemClock().now()) - 10) * 1000
    samples = dataset(end_ms)
    registry = CollectorRegistry()
    await deliver(writer_to(vm.url + "/api/v1/write", tmp_path / "q", registry), samples)
    sent = metric(registry, "watchkeeper_remote_write_samples_sent_total", remote_name="remote")
    assert sent == len(samples)
    vm_force_flush(vm)
    remote = RemotePromQL(vm.url, clock=SystemClock())
    ours = Engine(local(samples), clock=SystemClock())
    try:
        for expr in SHARED:
            for at in (end_ms, end_ms - 30_000):
                assert_close(values(remote.instant_ms(expr, at)), values(ours.instant_ms(expr, at)))
        matrix = remote.range_ms("sum(queue_depth)", end_ms - 60_000, end_ms, 10_000)
        expected = ours.range_ms("sum(queue_depth)", end_ms - 60_000, end_ms, 10_000)
        assert [s.points() for s in matrix] == [s.points() for s in expected]
    finally:
        remote.close()


@pytest.mark.victoriametrics
async def test_the_series_reader_lists_and_selects_what_victoriametrics_holds(
    vm: TSDBProcess, tmp_path: Path
) -> None:
    end_ms = (int(SystemClock().now()) - 10) * 1000
    samples = dataset(end_ms)
    await deliver(writer_to(vm.url + "/api/v1/write", tmp_path / "q"), samples)
    vm_force_flush(vm)
    remote = RemotePromQL(vm.url, clock=SystemClock())
    reader: SeriesStore = RemoteSeriesReader(remote.api)
    try:
        name = [Matcher.equal("__name__", "queue_depth")]
        assert len(reader.series(name, end_ms - 600_000, end_ms)) == 3
        assert {"__name__", "instance", "job"} <= set(reader.label_names())
        assert reader.label_values("instance", name) == ["a", "b", "c"]
        start = end_ms - 20_000
        got = {d.labels["instance"]: d for d in reader.select(name, start, end_ms)}
        want = {d.labels["instance"]: d for d in local(samples).select(name, start, end_ms)}
        assert got.keys() == want.keys()
        for inst, data in got.items():
            assert data.timestamps.tolist() == want[inst].timestamps.tolist()
            assert data.values.tolist() == want[inst].values.tolist()
    finally:
        remote.close()


@pytest.mark.victoriametrics
async def test_the_queue_survives_a_restart_while_victoriametrics_is_down_and_drains_after(
    tmp_path: Path,
) -> None:
    need_vm()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/write"
    end_ms = (int(SystemClock().now()) - 10) * 1000
    samples = dataset(end_ms)
    first = writer_to(url, tmp_path / "q")
    await first.start()
    first.enqueue(samples[:200])
    await first.flush()
    await until(lambda: "ConnectError" in first.last_error)
    first.enqueue(samples[200:])
    await first.stop()  # down all along: everything went to the disk queue
    second = writer_to(url, tmp_path / "q")
    assert second.queue.depth().samples == len(samples)
    vm = start_victoriametrics(tmp_path / "vm", port=port)
    try:
        await deliver(second, [])
        vm_force_flush(vm)
        remote = RemotePromQL(vm.url, clock=SystemClock())
        try:
            count = remote.instant_ms("count_over_time(queue_depth[5m])", end_ms)
            assert sorted(values(count).values()) == [POINTS] * 3
        finally:
            remote.close()
    finally:
        vm.stop()


@pytest.mark.prometheus
async def test_the_sender_delivers_to_prometheus_and_rates_agree(tmp_path: Path) -> None:
    require(
        prometheus_binary() is not None,
        "Prometheus 2.42 (`prometheus`)",
        "apt-get install prometheus (`.ci/run` installs it)",
    )
    prom = start_prometheus(tmp_path / "prom", "global: {scrape_interval: 1h}\n", receiver=True)
    try:
        end_ms = (int(SystemClock().now()) - 10) * 1000
        samples = dataset(end_ms)
        await deliver(writer_to(prom.url + "/api/v1/write", tmp_path / "q"), samples)
        remote = RemotePromQL(prom.url, clock=SystemClock())
        ours = Engine(local(samples), clock=SystemClock())
        try:
            for expr in [*SHARED, "rate(jobs_total[30s])", "increase(jobs_total[1m])"]:
                assert_close(
                    values(remote.instant_ms(expr, end_ms)), values(ours.instant_ms(expr, end_ms))
                )
        finally:
            remote.close()
    finally:
        prom.stop()


class ListSink:
    def __init__(self) -> None:
        self.alerts: list[AlertInput] = []

    async def put(self, alerts: Sequence[AlertInput]) -> None:
        self.alerts.extend(alerts)


@pytest.mark.victoriametrics
async def test_rules_and_the_query_api_read_victoriametrics_through_query_url(
    vm: TSDBProcess, tmp_path: Path
) -> None:
    clock = SystemClock()
    end_ms = (int(clock.now()) - 10) * 1000
    await deliver(writer_to(vm.url + "/api/v1/write", tmp_path / "q"), dataset(end_ms))
    vm_force_flush(vm)
    remote = RemotePromQL(vm.url, clock=clock)
    engine: QueryEngine = remote  # the runtime swaps the embedded engine for this
    empty = EmbeddedStore.memory(clock=clock)  # nothing local: answers must come from VM
    try:
        alerts = await evaluate_backlog_rule(engine, empty, end_ms / 1000)
        answer, names, bad = await ask_query_api(engine, RemoteSeriesReader(remote.api), end_ms)
    finally:
        remote.close()
        empty.close()
    assert [a.labels["alertname"] for a in alerts] == ["Backlog"]
    assert alerts[0].value == 32.0
    assert answer.status_code == 200
    (row,) = answer.json()["data"]["result"]
    expected = sum(float((119 * 7 + ord(i)) % 50) for i in "abc")
    assert float(row["value"][1]) == expected
    assert names.json()["data"] == ["a", "b", "c"]
    assert bad.status_code == 400
    assert bad.json()["errorType"] == "bad_data"


async def evaluate_backlog_rule(
    engine: QueryEngine, store: SeriesStore, at_s: float
) -> list[AlertInput]:
    sink = ListSink()
    manager = RuleManager(
        query=engine.samples,
        metrics_of=lambda expr: None,
        store=store,
        sink=sink,
        clock=engine.clock,
    )
    rules = """
groups:
  - name: backlog
    rules:
      - alert: Backlog
        expr: max by (job) (queue_depth) > 31
"""
    manager.load(load_rule_text(rules, "backlog.yml"))
    await manager.evaluate_group(manager.groups[0], at_s)
    return sink.alerts


async def ask_query_api(
    engine: QueryEngine, reader: SeriesStore, end_ms: int
) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
    viewer = Principal("grafana", PrincipalKind.TOKEN, Role.VIEWER, frozenset(Permission))
    app = FastAPI()

    @app.middleware("http")
    async def authenticate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.principal = viewer
        return await call_next(request)

    app.include_router(build_router(cast(Engine, engine), reader, clock=engine.clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wk") as client:
        query: dict[str, str | float] = {"query": "sum(queue_depth)", "time": end_ms / 1000}
        answer = await client.get("/prometheus/api/v1/query", params=query)
        names = await client.get("/prometheus/api/v1/label/instance/values")
        bad = await client.get("/prometheus/api/v1/query", params={"query": "sum(("})
    return answer, names, bad
