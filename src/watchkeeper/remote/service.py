"""``storage.remote_write`` as one object for the runtime, and the store wrapper that feeds
it.

The sender is fed by the appends, not by a store listener (listeners only learn metric
names): :class:`ForwardingStore` wraps the embedded store, passes every call through, and
hands each append's samples to the :class:`RemoteWriteService` after the store took them.
Give the wrapper to everything that appends (scheduler, push receivers, rule manager for
recording rules and ``ALERTS``); queries can keep using the embedded store directly::

    remote = RemoteWriteService.from_config(
        cfg.storage.remote_write, data_dir=data_dir, clock=clock, registry=registry,
        external_labels=cfg.global_.external_labels,
    )
    store = ForwardingStore(embedded, remote)   # a SeriesStore
    await remote.start()  ...  await remote.stop()

Samples go to the remote as they were given to the store, staleness markers included;
samples the embedded store refused (out-of-order, series limits) are sent anyway, and the
remote TSDB applies its own rules to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.remote.config import RemoteWriteConfig
from watchkeeper.remote.writer import RemoteWriteMetrics, RemoteWriter
from watchkeeper.tsdb.base import (
    AppendResult,
    Sample,
    SeriesData,
    SeriesListener,
    SeriesStore,
    StoreStats,
)

QUEUE_DIR = "remote_write"


class RemoteWriteService:
    """Every configured endpoint's :class:`RemoteWriter`, fed together."""

    def __init__(self, writers: Sequence[RemoteWriter]) -> None:
        self.writers = list(writers)

    @classmethod
    def from_config(
        cls,
        configs: Sequence[RemoteWriteConfig],
        *,
        data_dir: Path,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> RemoteWriteService:
        metrics = RemoteWriteMetrics(registry)
        writers = [
            RemoteWriter(
                cfg,
                directory=data_dir / QUEUE_DIR / cfg.queue_name,
                clock=clock,
                metrics=metrics,
                transport=transport,
                external_labels=external_labels,
            )
            for cfg in configs
        ]
        return cls(writers)

    def __bool__(self) -> bool:
        return bool(self.writers)

    def enqueue(self, samples: Sequence[Sample]) -> None:
        for writer in self.writers:
            writer.enqueue(samples)

    async def start(self) -> None:
        for writer in self.writers:
            await writer.start()

    async def stop(self) -> None:
        for writer in self.writers:
            await writer.stop()

    async def flush(self) -> None:
        for writer in self.writers:
            await writer.flush()

    def status(self) -> list[dict[str, object]]:
        return [w.status() for w in self.writers]


class ForwardingStore:
    """A :class:`~watchkeeper.tsdb.base.SeriesStore` that appends to ``inner`` and then
    forwards the samples to ``remote``. Every other call, and every attribute this class
    does not define, goes to ``inner``."""

    def __init__(self, inner: SeriesStore, remote: RemoteWriteService) -> None:
        self.inner = inner
        self.remote = remote

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        batch = samples if isinstance(samples, list | tuple) else list(samples)
        result = self.inner.append(batch, source=source)
        self.remote.enqueue(batch)
        return result

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        return self.inner.select(matchers, start_ms, end_ms)

    def series(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Labels]:
        return self.inner.series(matchers, start_ms, end_ms)

    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        return self.inner.label_names(matchers, start_ms, end_ms)

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        return self.inner.label_values(name, matchers, start_ms, end_ms)

    def subscribe(self, listener: SeriesListener) -> None:
        self.inner.subscribe(listener)

    def stats(self) -> StoreStats:
        return self.inner.stats()

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        """Whatever else the inner store offers (``series_limit_problem``,
        ``select_rollups``, ``import_series``, ...)."""
        return getattr(self.inner, name)
