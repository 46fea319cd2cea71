"""A real Prometheus 2.42 with ``remote_write`` pointed at Watchkeeper's receiver: every
sample arrives, and the same PromQL queries answer the same from both."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from conftest import require
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql import Engine, Matrix, Result, Scalar, Vector
from watchkeeper.remote.query import RemotePromQL
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import metric, push_app
from .tsdbs import prometheus_binary, running, start_prometheus

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

INSTANT = [
    "up",
    "scrape_samples_scraped",
    'count({job="prometheus"})',
    "sum by (handler) (prometheus_http_requests_total)",
    "sum(rate(prometheus_http_requests_total[10s]))",
    "max_over_time(scrape_duration_seconds[10s])",
    "histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket"
    "[10s])))",
    "prometheus_tsdb_head_series > 0",
]


def as_points(result: Result) -> dict[Labels, float] | dict[Labels, list[tuple[int, float]]]:
    if isinstance(result, Vector):
        return {s.labels: s.value for s in result}
    if isinstance(result, Scalar):
        return {Labels(): result.value}
    if isinstance(result, Matrix):
        return {s.labels: s.points() for s in result}
    raise AssertionError(f"unexpected result {result!r}")


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_same(expr: str, ours: Result, theirs: Result) -> None:
    a, b = as_points(ours), as_points(theirs)
    assert a.keys() == b.keys(), f"{expr}: different series"
    for labels, value in a.items():
        other = b[labels]
        if isinstance(value, list) and isinstance(other, list):
            assert [t for t, _ in value] == [t for t, _ in other], f"{expr} {labels}: steps"
            assert all(same(x, y) for (_, x), (_, y) in zip(value, other, strict=True)), expr
        else:
            assert isinstance(value, float)
            assert isinstance(other, float)
            assert same(value, other), f"{expr} {labels}: {value} != {other}"


def test_prometheus_remote_write_delivers_its_samples_and_queries_agree(tmp_path: Path) -> None:
    require(
        prometheus_binary() is not None,
        "Prometheus 2.42 (`prometheus`)",
        "apt-get install prometheus (`.ci/run` installs it)",
    )
    clock = SystemClock()
    store = EmbeddedStore.memory(clock=clock)
    app = push_app(store, clock, tmp_path)
    prom_port = free_port()
    with FakeServer(app.app) as wk:
        config = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1h}}
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]
remote_write:
  - url: {wk.url}/prometheus/api/v1/write
    authorization: {{credentials: {app.writer_token}}}
    queue_config: {{batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 1s}}
"""
        with running(start_prometheus(tmp_path / "prom", config, port=prom_port)) as prom:
            up = [Matcher.equal("__name__", "up")]
            first_ms: int | None = None
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                found = store.select(up, 0, 2**62)
                if found:
                    first_ms = int(found[0].timestamps[0])
                    if int(found[0].timestamps[-1]) - first_ms >= 25_000:
                        break
                time.sleep(0.5)
            assert first_ms is not None, f"nothing arrived; Prometheus said:\n{prom.log()}"
            last_ms = int(store.select(up, 0, 2**62)[0].timestamps[-1])
            at_ms = last_ms - 3000  # a few scrapes back: every batch up to here has arrived
            theirs = RemotePromQL(prom.url, clock=clock)
            ours = Engine(store, clock=clock)
            try:
                assert len(as_points(ours.instant_ms("up", at_ms))) == 1
                for expr in INSTANT:
                    assert_same(expr, ours.instant_ms(expr, at_ms), theirs.instant_ms(expr, at_ms))
                expr = "sum(rate(prometheus_http_requests_total[5s]))"
                start = first_ms + 12_000
                assert_same(
                    expr,
                    ours.range_ms(expr, start, at_ms, 1000),
                    theirs.range_ms(expr, start, at_ms, 1000),
                )
                series = theirs.instant_ms('count({__name__=~".+"})', at_ms)
                assert isinstance(series, Vector)
                assert series[0].value > 100  # a real body of series, not a handful
            finally:
                theirs.close()
    reg = app.registry
    assert metric(reg, "watchkeeper_push_requests_total", kind="remote_write", code="400") == 0
    assert metric(reg, "watchkeeper_push_requests_total", kind="remote_write", code="204") > 10
    app.db.dispose()
    store.close()
