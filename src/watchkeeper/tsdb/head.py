"""The in-memory head: every known series and, for active ones, their recent samples in
two ``array`` buffers (int64 timestamps, float64 values): 16 bytes a sample, no Python
object per sample.

Per series the head keeps:

- ``persisted``: how many of the head's leading samples are already in chunks;
- ``complete_from``: every sample with a timestamp at or after it is in the head, so a
  query starting there needs no chunk read;
- ``last_t``/``min_t``: the newest and oldest timestamps the series has anywhere.

Not thread-safe on its own: the store holds its lock around every call.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter

from watchkeeper.core.labels import METRIC_NAME, Labels, is_valid_label_name, is_valid_metric_name
from watchkeeper.tsdb.base import AppendResult, Sample
from watchkeeper.tsdb.index import SeriesIndex

log = logging.getLogger(__name__)

MIN_T = -(2**63)
MAX_T = 2**63 - 1
_EMPTY_TS: array[int] = array("q")  # shared, never modified: returned for empty slices
_EMPTY_VALUES: array[float] = array("d")


class Series:
    __slots__ = (
        "complete_from",
        "id",
        "labels",
        "last_t",
        "min_t",
        "name",
        "persisted",
        "source",
        "ts",
        "vals",
    )

    def __init__(self, sid: int, labels: Labels) -> None:
        self.id = sid
        self.labels = labels
        self.name = labels.get(METRIC_NAME, "")
        self.source: str | None = None
        self.ts: array[int] | None = None  # None while inactive
        self.vals: array[float] | None = None
        self.persisted = 0
        self.last_t = MIN_T
        self.min_t = MAX_T
        self.complete_from = MIN_T

    def activate(self, source: str | None) -> None:
        self.ts = array("q")
        self.vals = array("d")
        self.source = source
        self.persisted = 0
        # Everything at or before the newest persisted sample lives in chunks.
        self.complete_from = MIN_T if self.last_t == MIN_T else self.last_t + 1

    def insert(self, ts: int, value: float) -> bool:
        """Insert an out-of-order sample; False when the timestamp is already there."""
        times = self.ts
        values = self.vals
        if times is None or values is None:
            return False
        i = bisect_left(times, ts)
        if i < len(times) and times[i] == ts:
            return False
        values.insert(i, value)
        times.insert(i, ts)
        if i < self.persisted:
            # Re-persist from here; the duplicates this writes are dropped on read.
            self.persisted = i
        if ts < self.min_t:
            self.min_t = ts
        return True

    def head_slice(self, start: int, end: int) -> tuple[array[int], array[float]]:
        times = self.ts
        values = self.vals
        if not times or values is None:
            return _EMPTY_TS, _EMPTY_VALUES
        lo = 0 if times[0] >= start else bisect_left(times, start)
        hi = len(times) if times[-1] <= end else bisect_right(times, end, lo)
        return times[lo:hi], values[lo:hi]


@dataclass(slots=True)
class Limits:
    max_series: int
    max_series_per_target: int
    out_of_order_window_ms: int


@dataclass(slots=True)
class AppendBatch:
    """What one append accepted, for the write-ahead log."""

    new_series: list[Series] = field(default_factory=list)
    ids: array[int] = field(default_factory=lambda: array("q"))
    timestamps: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    names: set[str] | None = None
    rejected_global: list[Labels] = field(default_factory=list)
    rejected_target: list[Labels] = field(default_factory=list)


class Head:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.index = SeriesIndex()
        self.series: dict[int, Series] = {}
        # Keyed by the label tuple: C-level hashing and equality, no Python calls per sample.
        self.by_labels: dict[tuple[tuple[str, str], ...], Series] = {}
        self.next_id = 1
        self.live: dict[int, Series] = {}  # active series: those with head buffers
        self.per_source: dict[str, int] = {}
        self.samples = 0  # samples currently in head buffers
        self.pending_series: list[Series] = []  # created since the last flush
        # Per source, the label sets of its last append and their series (see _series_of).
        self._memo: dict[str | None, _Memo] = {}
        self._deactivations = 0  # how many times a series was deactivated: memos check it
        self._checks = NameChecks()

    # ----- series registry

    def add_series(self, sid: int, labels: Labels) -> Series:
        """Register a known series (loading or replay); idempotent."""
        existing = self.series.get(sid)
        if existing is not None:
            return existing
        s = Series(sid, labels)
        self.series[sid] = s
        self.by_labels[labels.items_tuple] = s
        self.index.add(sid, labels)
        if sid >= self.next_id:
            self.next_id = sid + 1
        return s

    def activate(self, s: Series, source: str | None) -> None:
        if s.ts is not None:
            return
        s.activate(source)
        self.live[s.id] = s
        if source is not None:
            self.per_source[source] = self.per_source.get(source, 0) + 1

    def deactivate(self, s: Series) -> None:
        if s.ts is None:
            return
        self._deactivations += 1
        self.samples -= len(s.ts)
        s.ts = None
        s.vals = None
        del self.live[s.id]
        if s.source is not None:
            left = self.per_source.get(s.source, 0) - 1
            if left > 0:
                self.per_source[s.source] = left
            else:
                self.per_source.pop(s.source, None)

    def remove(self, sids: Iterable[int]) -> None:
        gone: list[tuple[int, Labels]] = []
        for sid in sids:
            s = self.series.pop(sid, None)
            if s is None:
                continue
            self.deactivate(s)
            self.by_labels.pop(s.labels.items_tuple, None)
            gone.append((sid, s.labels))
        self.index.remove(gone)
        self._memo.clear()

    def _new_series(
        self, labels: Labels, known: Series | None, source: str | None, batch: AppendBatch
    ) -> Series | None:
        limits = self.limits
        if len(self.live) >= limits.max_series:
            batch.rejected_global.append(labels)
            return None
        if source is not None and self.per_source.get(source, 0) >= limits.max_series_per_target:
            batch.rejected_target.append(labels)
            return None
        if known is None:
            problem = invalid_labels(labels, self._checks)
            if problem:
                raise ValueError(problem)
            known = Series(self.next_id, labels)
            self.next_id += 1
            self.series[known.id] = known
            self.by_labels[labels.items_tuple] = known
            self.index.add(known.id, labels)
            batch.new_series.append(known)
            self.pending_series.append(known)
        self.activate(known, source)
        return known

    def series_limit_problem(self, series: Mapping[str | None, Iterable[Labels]]) -> str | None:
        """Why appending to these series (grouped by source) would create series past a
        limit, or None. Counts each label set that has no active series yet."""
        limits = self.limits
        by_labels = self.by_labels
        total = 0
        for source, labels in series.items():
            fresh = set()
            for lab in labels:
                known = by_labels.get(lab.items_tuple)
                if known is None or known.ts is None:
                    fresh.add(lab.items_tuple)
            if not fresh:
                continue
            total += len(fresh)
            have = self.per_source.get(source, 0) if source is not None else 0
            if source is not None and have + len(fresh) > limits.max_series_per_target:
                return (
                    f"{len(fresh)} new series for target {source!r}, which already has {have} "
                    f"active series, would pass storage.max_series_per_target = "
                    f"{limits.max_series_per_target}; drop or relabel high-cardinality labels, "
                    "or raise the limit"
                )
        if total and len(self.live) + total > limits.max_series:
            return (
                f"{total} new series would pass storage.max_series = {limits.max_series} (the "
                f"store has {len(self.live)} active series); reduce label cardinality or "
                "raise the limit"
            )
        return None

    def limit_message(self, kind: str, source: str | None, rejected: list[Labels]) -> str:
        """The error for new series refused by the per-target or the global limit."""
        limits = self.limits
        if kind == "target":
            return (
                f"series limit reached for target {source!r}: it already has "
                f"{self.per_source.get(source or '', 0)} active series "
                f"(storage.max_series_per_target = {limits.max_series_per_target}); "
                f"{len(rejected)} new series rejected, e.g. {rejected[0]}. Drop or relabel "
                "high-cardinality labels on this target, or raise "
                "storage.max_series_per_target"
            )
        return (
            f"series limit reached: the store already has {len(self.live)} "
            f"active series (storage.max_series = {limits.max_series}); "
            f"{len(rejected)} new series rejected, e.g. {rejected[0]}. Reduce label "
            "cardinality or raise storage.max_series"
        )

    # ----- appends

    def append(
        self, samples: Iterable[Sample], source: str | None, result: AppendResult, track: bool
    ) -> AppendBatch:
        rows = samples if isinstance(samples, list) else list(samples)
        batch = AppendBatch(names=set() if track else None)
        invalid: list[str] = []  # why rows were refused, reported as one error
        found, ids = self._series_of(rows, source, batch, invalid)
        skipped, out_of_order, duplicates = self._append_rows(
            found, rows, self.limits.out_of_order_window_ms, invalid
        )
        if skipped:
            gone = set(skipped)
            kept = [i for i in range(len(rows)) if i not in gone]
            rows = [rows[i] for i in kept]
            found = [found[i] for i in kept]
            ids = None
        batch.ids = ids if ids is not None else array("q", map(_series_id, found))
        stamps = list(map(_sample_ts, rows))
        if stamps and stamps.count(stamps[0]) == len(stamps):  # a scrape: one timestamp
            batch.timestamps = array("q", stamps[:1]) * len(stamps)
        else:
            batch.timestamps = array("q", stamps)
        batch.values = array("d", list(map(_sample_value, rows)))
        if batch.names is not None:
            batch.names.update(map(_series_name, found))
        appended = len(rows)
        self.samples += appended
        result.appended += appended
        result.out_of_order += out_of_order
        result.duplicates += duplicates
        result.rejected_series += len(batch.rejected_global) + len(batch.rejected_target)
        if invalid:
            more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
            result.errors.append(invalid[0] + more)
        return batch

    @staticmethod
    def _append_rows(
        found: list[Series | None], rows: list[Sample], window: int, invalid: list[str]
    ) -> tuple[list[int], int, int]:
        """Append row by row (any timestamps, out of order within ``window``): the
        indexes of the rows not appended, and how many were out of order or duplicates."""
        skipped: list[int] = []
        out_of_order = duplicates = 0
        for i, (s, (labels, ts, value)) in enumerate(zip(found, rows, strict=True)):
            if s is None:  # refused: over a limit or invalid
                skipped.append(i)
                continue
            times = s.ts
            values = s.vals
            if times is None or values is None:  # pragma: no cover - activated above
                skipped.append(i)
                continue
            try:
                if ts > s.last_t:
                    values.append(value)
                    times.append(ts)
                    s.last_t = ts
                    if ts < s.min_t:
                        s.min_t = ts
                    continue
                if ts == s.last_t:
                    duplicates += 1
                elif ts < s.last_t - window:
                    out_of_order += 1
                elif s.insert(ts, value):
                    continue
                else:
                    duplicates += 1
            except (TypeError, OverflowError):
                if len(values) > len(times):
                    values.pop()
                invalid.append(
                    f"sample {labels}: timestamp must be an integer of milliseconds and the "
                    f"value a number, got {ts!r} and {value!r}"
                )
            skipped.append(i)
        return skipped, out_of_order, duplicates

    def _series_of(
        self, rows: list[Sample], source: str | None, batch: AppendBatch, invalid: list[str]
    ) -> tuple[list[Series | None], array[int] | None]:
        """The active series of every row (created or activated as needed), or None where
        a row's series is refused; and their ids when none is refused. A source sends the
        same series append after append, so the last answer per source is kept and reused
        while its label sets are the very same objects in the same order and no series
        was deactivated since."""
        labels = list(map(_sample_labels, rows))
        memo = self._memo.get(source)
        if (
            memo is not None
            and memo.ids is not None
            and memo.deactivations == self._deactivations
            and memo.labels == labels
        ):
            return memo.found, memo.ids
        found = list(map(self.by_labels.get, map(_items_tuple, labels)))
        if None in found or None in list(map(_series_ts, found)):
            self._activate_rows(labels, found, source, batch, invalid)
        ids = None if None in found else array("q", map(_series_id, found))
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[source] = _Memo(labels, found, ids, self._deactivations)
        return found, ids

    def _activate_rows(
        self,
        labels: list[Labels],
        found: list[Series | None],
        source: str | None,
        batch: AppendBatch,
        invalid: list[str],
    ) -> None:
        """Fill ``found`` with the series of rows that have none or an inactive one:
        created or activated in row order, within the limits; None where refused (why
        goes to ``invalid`` for invalid label sets)."""
        get = self.by_labels.get
        refused: set[Labels] = set()
        for i, (lab, s) in enumerate(zip(labels, found, strict=True)):
            if s is not None and s.ts is not None:
                continue
            s = get(lab.items_tuple)  # created by an earlier row of this append?
            if s is None or s.ts is None:
                if lab in refused:
                    found[i] = None
                    continue
                try:
                    s = self._new_series(lab, s, source, batch)
                except ValueError as exc:
                    invalid.append(str(exc))
                    s = None
                if s is None:
                    refused.add(lab)
            found[i] = s

    def replay(self, ids: Iterable[int], times: Iterable[int], values: Iterable[float]) -> int:
        """Re-apply logged samples (restart); no limits, no window. Returns how many."""
        n = 0
        series = self.series
        for sid, ts, value in zip(ids, times, values, strict=True):
            s = series.get(sid)
            if s is None:
                continue
            if s.ts is None:
                self.activate(s, None)
            if s.ts is None or s.vals is None:  # pragma: no cover - activated above
                continue
            if ts > s.last_t:
                s.ts.append(ts)
                s.vals.append(value)
                s.last_t = ts
                if ts < s.min_t:
                    s.min_t = ts
            elif not s.insert(ts, value):
                continue
            n += 1
        self.samples += n
        return n


@dataclass(slots=True)
class _Memo:
    """A source's last append: its label sets, their series and (none refused) ids."""

    labels: list[Labels]
    found: list[Series | None]
    ids: array[int] | None
    deactivations: int


_CHECKED_MAX = 100_000
_MEMO_MAX = 10_000  # sources whose last append is remembered
_sample_labels = itemgetter(0)
_sample_ts = itemgetter(1)
_sample_value = itemgetter(2)
_series_id = attrgetter("id")
_series_ts = attrgetter("ts")
_series_name = attrgetter("name")
_items_tuple = attrgetter("items_tuple")


class NameChecks:
    """Remembers metric and label names already found valid (most repeat across series)."""

    __slots__ = ("labels", "metrics")

    def __init__(self) -> None:
        self.metrics: set[str] = set()
        self.labels: set[str] = set()

    @staticmethod
    def _valid(name: str, seen: set[str], check: Callable[[str], bool]) -> bool:
        if name in seen:
            return True
        if not check(name):
            return False
        if len(seen) < _CHECKED_MAX:
            seen.add(name)
        return True

    def metric(self, name: str) -> bool:
        return self._valid(name, self.metrics, is_valid_metric_name)

    def label(self, name: str) -> bool:
        return self._valid(name, self.labels, is_valid_label_name)


def invalid_labels(labels: Labels, checks: NameChecks | None = None) -> str | None:
    """Why a new series' labels cannot be stored, or None."""
    checks = checks or NameChecks()
    name = labels.get(METRIC_NAME)
    if not name:
        return f"series {labels} has no metric name (__name__); every sample needs one"
    if not checks.metric(name):
        return (
            f"metric name {name!r} is invalid: use letters, digits, _ and : "
            "and do not start with a digit"
        )
    for label in labels:
        if not checks.label(label):
            return (
                f"label name {label!r} of {labels} is invalid: use letters, digits and _ "
                "and do not start with a digit"
            )
    return None
