"""The same data in Watchkeeper's engine and in a real Prometheus (imported with
``promtool tsdb create-blocks-from openmetrics``), the same range queries on both, the
same answers.

Prometheus here is Debian's 2.42; Watchkeeper follows 2.53. The one difference that
matters for these queries (2.53 extrapolates a counter's partial first window
differently) is kept out by starting the queries 10 minutes after the data.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from conftest import require
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine
from watchkeeper.testing import tools
from watchkeeper.testing.server import free_port
from watchkeeper.testing.tools import stop_process
from watchkeeper.tsdb.embedded import EmbeddedStore

pytestmark = pytest.mark.prometheus

START = 1_700_000_000 // 3600 * 3600
HOUR = 3600
SCRAPE = 15

EXPRESSIONS = [
    "rate(req_total[5m])",
    "sum by (job) (rate(req_total[5m]))",
    "increase(req_total[10m])",
    "irate(req_total[1m])",
    "delta(temp[5m])",
    "idelta(temp[2m])",
    "deriv(temp[10m])",
    "predict_linear(temp[10m], 600)",
    "avg_over_time(temp[5m])",
    "quantile_over_time(0.9, temp[5m])",
    "stddev_over_time(temp[5m])",
    "changes(temp[5m])",
    "resets(req_total[15m])",
    "max by (job) (temp) - min by (job) (temp)",
    "topk(2, temp)",
    "bottomk by (job) (1, temp)",
    "quantile by (job) (0.5, temp)",
    'count_values("bucket", floor(temp / 10))',
    "temp > on(job, instance) group_left req_total * 0 + 50",
    "temp and on(instance) (req_total > 100)",
    'temp unless temp{instance="i-1"}',
    "sum(rate(lat_bucket[5m])) by (le)",
    "histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))",
    'label_replace(temp, "host", "$1", "instance", "i-(.*)")',
    "clamp(temp, 20, 60) + abs(temp - 50)",
    "max_over_time(rate(req_total[2m])[10m:1m])",
    "absent_over_time(nothing[5m])",
    "timestamp(temp)",
    "temp offset 5m",
    "sum without (instance) (temp) / count without (instance) (temp)",
]


def make_data() -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    stamps = np.arange(START, START + HOUR + 1, SCRAPE, dtype=np.int64) * 1000
    n = stamps.shape[0]
    out = []
    for i in range(6):
        rng = np.random.default_rng(i)
        job = "api" if i % 2 else "web"
        counter = np.cumsum(rng.integers(0, 10, n)).astype(np.float64)
        counter[n // 2 :] -= counter[n // 2] - 3  # a counter reset half-way
        base = {"job": job, "instance": f"i-{i}"}
        out.append((Labels({"__name__": "req_total", **base}), stamps, counter))
        temp = np.round(40 + 20 * np.sin(np.arange(n) / (7 + i)) + rng.normal(0, 2, n), 2)
        out.append((Labels({"__name__": "temp", **base}), stamps, temp))
    for le, share in (("0.1", 0.2), ("0.5", 0.7), ("1", 0.9), ("+Inf", 1.0)):
        counts = np.floor(np.arange(n) * 10 * share).astype(np.float64)
        out.append((Labels({"__name__": "lat_bucket", "le": le}), stamps, counts))
    return out


def write_openmetrics(path: Path, data: list[tuple[Labels, np.ndarray, np.ndarray]]) -> None:
    lines: list[str] = []
    for name in ("req_total", "temp", "lat_bucket"):
        lines.append(f"# TYPE {name} gauge")
        for labels, stamps, values in data:
            if labels.name != name:
                continue
            inner = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
            for t, v in zip((stamps // 1000).tolist(), values.tolist(), strict=True):
                lines.append(f"{name}{{{inner}}} {v!r} {t}")
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = tools.prometheus_path()
    promtool = tools.find_binary("promtool")
    require(
        binary is not None and promtool is not None,
        "prometheus and promtool",
        "install the Debian package prometheus",
    )
    assert binary is not None
    assert promtool is not None
    work = tmp_path_factory.mktemp("prometheus")
    write_openmetrics(work / "data.om", make_data())
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "-q",
            str(work / "data.om"),
            str(work / "data"),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    (work / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = free_port()
    with (work / "log").open("w") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=100y",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"prometheus did not start: {(work / 'log').read_text()[-2000:]}")
                try:
                    if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            yield url
        finally:
            stop_process(proc)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    store = EmbeddedStore.memory(clock=FakeClock(START))
    for labels, stamps, values in make_data():
        store.append(zip([labels] * len(values), stamps.tolist(), values.tolist(), strict=True))
    try:
        yield Engine(store, clock=FakeClock(START + HOUR))
    finally:
        store.close()


def _points(result: list[dict[str, Any]]) -> dict[Labels, dict[float, float]]:
    return {
        Labels(item["metric"]): {float(t): float(v) for t, v in item["values"]} for item in result
    }


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_range_query_matches_prometheus(prometheus: str, engine: Engine, expr: str) -> None:
    start, end, step = START + 600, START + HOUR, 30
    theirs_body = httpx.post(
        prometheus + "/api/v1/query_range",
        data={"query": expr, "start": start, "end": end, "step": step},
        timeout=30,
    ).json()
    assert theirs_body["status"] == "success", theirs_body
    theirs = _points(theirs_body["data"]["result"])
    ours = _points(engine.range(expr, start, end, step).to_json())
    assert ours.keys() == theirs.keys()
    for labels, points in theirs.items():
        assert ours[labels].keys() == points.keys(), labels
        for t, want in points.items():
            got = ours[labels][t]
            assert (math.isnan(got) and math.isnan(want)) or math.isclose(
                got, want, rel_tol=1e-9, abs_tol=1e-9
            ), (labels, t, got, want)
