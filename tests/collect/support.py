"""Helpers of the collector tests: a store that records appends and scheduled targets
built without a config file."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.collect.config import CheckBase
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.targets import ScheduledTarget, build_target
from watchkeeper.config.model import ServiceConfig
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.labels import Labels
from watchkeeper.testing.tls import self_signed
from watchkeeper.tsdb.base import AppendResult, Sample, is_stale_nan


class RecordingStore:
    """Keeps every appended sample, in order, with the source it came from."""

    def __init__(self) -> None:
        self.batches: list[tuple[str | None, list[Sample]]] = []

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        batch = list(samples)
        self.batches.append((source, batch))
        return AppendResult(appended=len(batch))

    @property
    def samples(self) -> list[Sample]:
        return [s for _, batch in self.batches for s in batch]

    def last_batch(self) -> list[Sample]:
        return self.batches[-1][1]

    def values(self, name: str, **labels: str) -> list[float]:
        return [
            v
            for lbls, _, v in self.samples
            if lbls.name == name and all(lbls.get(k) == val for k, val in labels.items())
        ]

    def latest(self, name: str, **labels: str) -> float:
        values = self.values(name, **labels)
        if not values:
            raise KeyError(f"no sample of {name} {labels}")
        return values[-1]

    def stale(self) -> list[Labels]:
        return [lbls for lbls, _, v in self.samples if math.isnan(v) and is_stale_nan(v)]

    def clear(self) -> None:
        self.batches.clear()


def scheduled(
    check: CheckBase,
    service: str = "backend",
    *,
    interval: float = 15.0,
    timeout: float = 5.0,
    **service_fields: Any,
) -> ScheduledTarget:
    svc = ServiceConfig(name=service, **service_fields)
    return build_target(svc, check, interval=interval, timeout=timeout)


def self_signed_cert(directory: Path, *, not_after: datetime) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 valid until ``not_after``; (cert, key) paths."""
    cert, key = self_signed(directory, not_after=not_after)
    return str(cert), str(key)


async def run_check(
    check: CheckBase, store: RecordingStore, http: httpx.AsyncClient, **kwargs: Any
) -> TargetStatus:
    """Build a scheduler without starting its loops and run ``check`` once."""
    st = scheduled(check, **kwargs)
    scheduler = Scheduler(store, clock=SystemClock(), http=http)
    await scheduler.reconfigure([st])
    try:
        return await scheduler.run_once(st.key)
    finally:
        await scheduler.stop()
