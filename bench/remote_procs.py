"""Shared parts of the remote-write benchmarks: the data set (pre-encoded remote-write
bodies), CPU and memory of a process from ``/proc``, a time budget, the Watchkeeper
receiver as a server process, and the real Prometheus / VictoriaMetrics processes of the
test suite (``tests/remote/tsdbs.py``: free loopback ports, temporary data directories,
stopped by PID)."""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "remote"))

from tsdbs import (  # noqa: E402
    TSDBProcess,
    prometheus_binary,
    start_prometheus,
    start_victoriametrics,
    victoriametrics_binary,
    vm_force_flush,
)

from watchkeeper.core.labels import Labels  # noqa: E402
from watchkeeper.remote.codec import WriteEncoder  # noqa: E402
from watchkeeper.tsdb.base import Sample  # noqa: E402

__all__ = [
    "ROOT",
    "Dataset",
    "Deadline",
    "TSDBProcess",
    "counter_total",
    "cpu_seconds",
    "dataset",
    "prometheus_binary",
    "rss_mb",
    "series_labels",
    "start_prometheus",
    "start_victoriametrics",
    "victoriametrics_binary",
    "vm_force_flush",
]

_TICKS = os.sysconf("SC_CLK_TCK")


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise SystemExit(f"benchmark time budget exhausted while {what}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024**2


def counter_total(exposition: str, name: str, labels: str = "") -> float:
    """Sum of a metric's samples in exposition text (optionally those whose label set
    contains ``labels``)."""
    total = 0.0
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)", re.MULTILINE)
    for match in pattern.finditer(exposition):
        if labels and labels not in (match.group(1) or ""):
            continue
        total += float(match.group(2))
    return total


def series_labels(count: int, per_instance: int = 100) -> list[Labels]:
    """``count`` series of 20 metric names, 8 labels each, ``per_instance`` per instance
    (a node-exporter-like shape)."""
    return [
        Labels(
            {
                "__name__": f"bench_metric_{i % 20}",
                "job": "node",
                "instance": f"host-{i // per_instance}:9100",
                "idx": str(i),
                "cpu": str(i % 8),
                "mode": ("idle", "user", "system")[i % 3],
                "zone": "eu-1a",
                "env": "prod",
            }
        )
        for i in range(count)
    ]


def samples_for(labels: list[Labels], t_ms: int, round_: int) -> list[Sample]:
    return [(lab, t_ms, float((i * 7 + round_ * 13) % 1000) / 10) for i, lab in enumerate(labels)]


@dataclass
class Dataset:
    """Remote-write bodies per shard (a shard's series go through one connection, in time
    order), the same for every receiver."""

    shards: list[list[bytes]]
    samples: int
    series: int
    first_ms: int
    last_ms: int

    @property
    def requests(self) -> int:
        return sum(len(s) for s in self.shards)

    @property
    def bytes(self) -> int:
        return sum(len(b) for s in self.shards for b in s)


def dataset(
    series: int, rounds: int, per_request: int, shards: int, *, step_ms: int = 10_000
) -> Dataset:
    """``rounds`` samples of every series, ``step_ms`` apart, ending a minute ago."""
    labels = series_labels(series)
    last = (int(time.time()) - 60) * 1000
    first = last - (rounds - 1) * step_ms
    parts = [labels[i::shards] for i in range(shards)]
    out: list[list[bytes]] = []
    for part in parts:
        encoder = WriteEncoder()
        bodies: list[bytes] = []
        for r in range(rounds):
            batch = samples_for(part, first + r * step_ms, r)
            bodies += [b for b, _, _ in encoder.encode_batches(batch, per_request)]
        out.append(bodies)
    return Dataset(out, series * rounds, series, first, last)
