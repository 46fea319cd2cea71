"""What monitoring costs: the process's CPU and memory and the runtime's self-metrics."""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.tsdb.base import StoreStats


def family_total(registry: CollectorRegistry, name: str, suffix: str = "") -> float:
    """The sum of one metric family's samples named ``name + suffix`` over every label set.
    Only that family's collector runs (other collectors, e.g. gauges that read files, are
    not called)."""
    total = 0.0
    sample_name = name + suffix
    for family in registry.restricted_registry([sample_name]).collect():
        for sample in family.samples:
            if sample.name == sample_name:
                total += sample.value
    return total


@dataclass(frozen=True, slots=True)
class Overhead:
    uptime_seconds: float
    cpu_seconds: float
    max_rss_bytes: int
    series: int | None  # None when the store could not say (e.g. files moving under it)
    samples_appended: int | None
    bytes_on_disk: int | None
    collector_runs: float
    rule_evaluations: float
    rule_evaluation_seconds: float

    @property
    def cpu_share(self) -> float | None:
        """CPU time per wall-clock time since start (1.0 = one core busy)."""
        return self.cpu_seconds / self.uptime_seconds if self.uptime_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "uptime_seconds": self.uptime_seconds,
            "cpu_seconds": self.cpu_seconds,
            "cpu_share": self.cpu_share,
            "max_rss_bytes": self.max_rss_bytes,
            "series": self.series,
            "samples_appended": self.samples_appended,
            "bytes_on_disk": self.bytes_on_disk,
            "collector_runs": self.collector_runs,
            "rule_evaluations": self.rule_evaluations,
            "rule_evaluation_seconds": self.rule_evaluation_seconds,
        }


def measure(
    registry: CollectorRegistry, stats: StoreStats | None, *, uptime_seconds: float
) -> Overhead:
    """The process's resource use so far and the runtime's counters (``uptime_seconds``
    comes from the runtime's clock)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = int(usage.ru_maxrss) * (1 if sys.platform == "darwin" else 1024)
    return Overhead(
        uptime_seconds=max(0.0, uptime_seconds),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=rss,
        series=stats.series if stats else None,
        samples_appended=stats.samples_appended_total if stats else None,
        bytes_on_disk=stats.bytes_on_disk if stats else None,
        collector_runs=family_total(registry, "watchkeeper_collect_runs", "_total"),
        rule_evaluations=family_total(registry, "watchkeeper_rule_group_evaluations", "_total"),
        rule_evaluation_seconds=family_total(
            registry, "watchkeeper_rule_group_duration_seconds", "_sum"
        ),
    )


def overhead_probe(
    registry: CollectorRegistry, stats: Callable[[], StoreStats], clock: Clock
) -> Callable[[], dict[str, Any]]:
    """A callable that measures the overhead since now (the runtime's start)."""
    started = clock.monotonic()

    def probe() -> dict[str, Any]:
        try:
            current: StoreStats | None = stats()
        except OSError:  # a file compacted away while being measured: report what is known
            current = None
        return measure(registry, current, uptime_seconds=clock.monotonic() - started).to_dict()

    return probe
