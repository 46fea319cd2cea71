"""The storage contract between ingestion, the PromQL engine and the engines behind it.

Timestamps are integer milliseconds since the epoch; values are float64. A sample whose
value has the bit pattern :data:`STALE_NAN` is a Prometheus staleness marker: it ends the
series at that time for instant lookups, and range functions ignore it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from watchkeeper.core.labels import Labels, Matcher

STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale_nan(value: float) -> bool:
    return math.isnan(value) and struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


def stale_mask(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`is_stale_nan` over a float64 array."""
    mask: npt.NDArray[np.bool_] = values.view(np.uint64) == np.uint64(STALE_NAN_BITS)
    return mask


Sample = tuple[Labels, int, float]
"""(labels, timestamp in ms, value)."""


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One series' samples in a time range, sorted by time, staleness markers included."""

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


@dataclass(slots=True)
class AppendResult:
    appended: int = 0
    out_of_order: int = 0  # older than what the series already has, outside the window
    duplicates: int = 0  # same timestamp as the last sample, value ignored
    rejected_series: int = 0  # new series refused by a cardinality limit
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreStats:
    series: int
    samples_in_head: int
    samples_appended_total: int
    bytes_on_disk: int


SeriesListener = Callable[[frozenset[str]], None]
"""Called after an append with the metric names that received samples."""


class SeriesStore(Protocol):
    """What every storage engine offers. Implementations are safe to call from the event
    loop thread; they never block it for long (large reads run in a worker thread)."""

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        """Store samples. ``source`` (e.g. the target's job/instance) scopes the per-target
        cardinality limit."""
        ...

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Every series matching all matchers with its samples in ``[start_ms, end_ms]``."""
        ...

    def series(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Labels]:
        """Label sets of series matching all matchers that have samples in the range."""
        ...

    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]: ...

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]: ...

    def subscribe(self, listener: SeriesListener) -> None:
        """Register a callback run after each append (event-driven rule evaluation)."""
        ...

    def stats(self) -> StoreStats: ...

    def flush(self) -> None:
        """Make everything appended so far durable."""
        ...

    def close(self) -> None: ...


ROLLUP_RESOLUTIONS_MS = (300_000, 3_600_000)
"""Rollup bucket sizes an engine may ask for: 5 minutes and 1 hour."""


@dataclass(frozen=True, slots=True)
class RollupData:
    """One series' rollup buckets, sorted by bucket start. A bucket covers
    ``[timestamps[i], timestamps[i] + resolution)``; NaN samples (staleness markers
    included) are not counted, and a bucket without other samples is absent."""

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]
    sum: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FlatSeries:
    """Several series' samples in contiguous arrays: ``offsets[i]:offsets[i+1]`` indexes
    series ``i`` (labels ``labels[i]``) in ``timestamps`` and ``values``."""

    labels: list[Labels]
    offsets: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


class FlatSource(Protocol):
    """Optional, found by duck typing (``getattr(store, "select_flat", None)``): select
    straight into contiguous arrays, without an object per series. ``None`` means "not
    this time" (e.g. the range reaches back into persisted chunks): use ``select``."""

    def select_flat(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> FlatSeries | None: ...


class RollupSource(Protocol):
    """Optional: engines that keep downsampled rollups. Check with ``isinstance``-free duck
    typing (``getattr(store, "select_rollups", None)``); long-range queries may use it."""

    def select_rollups(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        resolution_ms: int,
    ) -> list[RollupData]:
        """Buckets of ``resolution_ms`` (one of :data:`ROLLUP_RESOLUTIONS_MS`) whose start
        lies in ``[start_ms, end_ms]``, for every series matching all matchers."""
        ...
