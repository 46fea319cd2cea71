"""PromQL query latency, Watchkeeper next to Prometheus 2.42, on the same data in one run.

Loads counters into Watchkeeper's embedded store (in memory) and, through OpenMetrics and
``promtool tsdb create-blocks-from openmetrics``, into a Prometheus started on a free
loopback port; then times the same queries on both and prints JSON with the ratios
(Watchkeeper / Prometheus; below 1 means Watchkeeper is faster):

* ``query_range`` of ``sum by (job) (rate(x[5m]))`` over ``--series`` series and
  ``--hours`` hours at a 60 s step;
* the same without ``sum``: every series comes back (the JSON encoding is timed too);
* instant queries over ``--instant-series`` series: ``sum by (job) (rate(y[5m]))`` and
  the plain selector ``y``.

Watchkeeper is timed in-process (``Engine``) and over HTTP (the ``/prometheus`` router
served by uvicorn); Prometheus over HTTP. Every loop is bounded by ``--repeat`` and
``--max-seconds``; Prometheus is stopped by its PID. Usage::

    python bench/promql_query.py [--series 1000] [--hours 24] [--scrape 15] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI, Request, Response

from watchkeeper.core.clock import SystemClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine
from watchkeeper.promql.api import build_router
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.tools import prometheus_path, stop_process
from watchkeeper.tsdb.embedded import EmbeddedStore
from watchkeeper.web.deps import Principal, PrincipalKind

JOBS = 10


@dataclass
class SeriesSpec:
    labels: Labels
    timestamps_ms: np.ndarray
    values: np.ndarray


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise SystemExit(f"benchmark time budget exhausted while {what}")


def make_series(name: str, count: int, start_s: int, end_s: int, scrape_s: int) -> list[SeriesSpec]:
    stamps = np.arange(start_s, end_s + 1, scrape_s, dtype=np.int64) * 1000
    out = []
    for i in range(count):
        rng = np.random.default_rng(i)
        values = np.cumsum(rng.integers(0, 20, stamps.shape[0])).astype(np.float64)
        labels = Labels({"__name__": name, "job": f"job-{i % JOBS}", "instance": f"host-{i}"})
        out.append(SeriesSpec(labels, stamps, values))
    return out


def load_watchkeeper(store: EmbeddedStore, data: list[SeriesSpec]) -> float:
    started = time.perf_counter()
    for spec in data:
        store.append(
            zip(
                [spec.labels] * len(spec.values),
                spec.timestamps_ms.tolist(),
                spec.values.tolist(),
                strict=True,
            )
        )
    return time.perf_counter() - started


def write_openmetrics(path: Path, families: list[list[SeriesSpec]]) -> None:
    with path.open("w", encoding="ascii") as out:
        for family in families:
            name = family[0].labels.name
            out.write(f"# TYPE {name} gauge\n")
            for spec in family:
                inner = ",".join(f'{k}="{v}"' for k, v in spec.labels.items() if k != "__name__")
                prefix = f"{name}{{{inner}}} "
                seconds = (spec.timestamps_ms // 1000).tolist()
                values = spec.values.tolist()
                out.write(
                    "".join(f"{prefix}{v:.17g} {t}\n" for v, t in zip(values, seconds, strict=True))
                )
        out.write("# EOF\n")


class Prometheus:
    """A Prometheus process on a free loopback port, on a prepared data directory."""

    def __init__(self, binary: str, data_dir: Path, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n")
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=100y",
                "--query.max-samples=50000000",
                "--query.timeout=2m",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, deadline: Deadline) -> None:
        while True:
            deadline.check("waiting for Prometheus to start")
            if self.proc.poll() is not None:
                raise SystemExit(f"prometheus exited with {self.proc.returncode}; see its log")
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def timed(fn: Callable[[], Any], repeat: int, deadline: Deadline) -> dict[str, float]:
    fn()  # warm-up: caches, page faults, lazily built structures
    runs = []
    for _ in range(repeat):
        deadline.check("timing queries")
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "runs": len(runs)}


def http_query(client: httpx.Client, base: str, path: str, params: dict[str, str]) -> Any:
    response = client.post(base + path, data=params, timeout=300)
    body = response.json()
    if body.get("status") != "success":
        raise SystemExit(f"{base}{path} failed: {body}")
    return body["data"]


def viewer_app(engine: Engine, store: EmbeddedStore) -> FastAPI:
    app = FastAPI()
    viewer = Principal(
        "bench", PrincipalKind.USER, Role.VIEWER, frozenset({Permission.METRICS_READ})
    )

    @app.middleware("http")
    async def authenticate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.principal = viewer
        return await call_next(request)

    app.include_router(build_router(engine, store))
    return app


def max_relative_difference(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], since: float
) -> float:
    """Largest relative difference between the two results at steps from ``since`` on.

    The first minutes of data are left out: there Prometheus 2.42 extrapolates a partial
    window of a counter differently from 2.53 (whose behaviour Watchkeeper follows and
    whose conformance tests it passes)."""

    def by_metric(result: list[dict[str, Any]]) -> dict[str, dict[float, float]]:
        return {
            json.dumps(r["metric"], sort_keys=True): {float(t): float(v) for t, v in r["values"]}
            for r in result
        }

    a, b = by_metric(ours), by_metric(theirs)
    if a.keys() != b.keys():
        return float("inf")
    worst = 0.0
    for key, points in a.items():
        other = b[key]
        if points.keys() != other.keys():
            return float("inf")
        for t, v in points.items():
            if t < since:
                continue
            w = other[t]
            scale = max(abs(v), abs(w), 1e-12)
            worst = max(worst, abs(v - w) / scale)
    return worst


def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = Deadline(args.max_seconds)
    binary = prometheus_path()
    if binary is None:
        raise SystemExit("prometheus is not installed (apt-get install prometheus)")
    end_s = int(time.time()) // 3600 * 3600
    start_s = end_s - args.hours * 3600
    x = make_series("x", args.series, start_s, end_s, args.scrape)
    y = make_series("y", args.instant_series, end_s - 1800, end_s, args.scrape)
    samples = sum(len(s.values) for s in x) + sum(len(s.values) for s in y)
    report: dict[str, Any] = {
        "benchmark": "promql_query",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "data": {
            "range_series": args.series,
            "range_hours": args.hours,
            "instant_series": args.instant_series,
            "scrape_interval_s": args.scrape,
            "samples": samples,
        },
    }
    store = EmbeddedStore.memory(clock=SystemClock())
    report["data"]["watchkeeper_load_s"] = round(load_watchkeeper(store, x + y), 2)
    deadline.check("loading Watchkeeper")
    with tempfile.TemporaryDirectory(prefix="wk-bench-promql-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_openmetrics(work / "data.om", [x, y])
        data_dir = work / "data"
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(work / "data.om"),
                str(data_dir),
            ],
            check=True,
            timeout=max(10.0, deadline.left()),
        )
        (work / "data.om").unlink()
        report["data"]["prometheus_import_s"] = round(time.perf_counter() - started, 2)
        del x, y
        prom = Prometheus(binary, data_dir, work)
        try:
            prom.wait_ready(deadline)
            report["queries"] = compare(args, store, prom.url, start_s, end_s, deadline)
        finally:
            prom.stop()
    store.close()
    return report


def compare(
    args: argparse.Namespace,
    store: EmbeddedStore,
    prom_url: str,
    start_s: int,
    end_s: int,
    deadline: Deadline,
) -> list[dict[str, Any]]:
    engine = Engine(store, clock=SystemClock())
    rng = {"start": str(start_s), "end": str(end_s), "step": "60"}
    queries = [
        ("range_sum_rate", "sum by (job) (rate(x[5m]))", "/api/v1/query_range", rng),
        ("range_rate_every_series", "rate(x[5m])", "/api/v1/query_range", rng),
        ("instant_sum_rate", "sum by (job) (rate(y[5m]))", "/api/v1/query", {"time": str(end_s)}),
        ("instant_select", "y", "/api/v1/query", {"time": str(end_s)}),
    ]
    results = []
    with FakeServer(viewer_app(engine, store)) as wk, httpx.Client() as client:
        wk_base = wk.url + "/prometheus"
        for name, expr, path, extra in queries:
            params = {"query": expr, **extra}
            if path.endswith("query_range"):
                in_process = partial(engine.range, expr, start_s, end_s, 60)
            else:
                in_process = partial(engine.instant, expr, end_s)
            ours = timed(in_process, args.repeat, deadline)
            ours_http = timed(
                partial(http_query, client, wk_base, path, params), args.repeat, deadline
            )
            theirs = timed(
                partial(http_query, client, prom_url, path, params), args.repeat, deadline
            )
            entry: dict[str, Any] = {
                "name": name,
                "query": expr,
                "watchkeeper_in_process": ours,
                "watchkeeper_http": ours_http,
                "prometheus_http": theirs,
                "ratio_http": round(ours_http["median_s"] / theirs["median_s"], 2),
                "ratio_in_process_vs_prometheus_http": round(
                    ours["median_s"] / theirs["median_s"], 2
                ),
            }
            if path.endswith("query_range"):
                a = http_query(client, wk_base, path, params)["result"]
                b = http_query(client, prom_url, path, params)["result"]
                entry["max_relative_difference_after_10m"] = max_relative_difference(
                    a, b, start_s + 600
                )
            results.append(entry)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--instant-series", type=int, default=10_000)
    parser.add_argument("--scrape", type=int, default=15, help="seconds between samples")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=1200)
    args = parser.parse_args(argv)
    json.dump(run(args), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
