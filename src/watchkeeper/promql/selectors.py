"""Instant and range vector selectors, and subqueries.

Samples of all selected series are kept in one flat array; the sample index for every
(series, step) pair is found with one ``searchsorted`` over keys that combine the series
number and the timestamp, so selection is vectorised over series and steps alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql.ast import At, MatrixSelector, Subquery, VectorSelector
from watchkeeper.promql.model import F64, I64, Ranges, ScalarSteps, Steps, StringValue
from watchkeeper.promql.parse import AtKind
from watchkeeper.tsdb.base import FlatSeries, SeriesData, stale_mask

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

_KEY_LIMIT = 2**62
_PER_SERIES_MIN_STEPS = 16


def resolve_times(ev: Evaluator, times: I64, at: At | None, offset_ms: int) -> I64:
    """The times a selector or subquery reads at: ``@`` pins them, ``offset`` shifts them."""
    if at is None:
        return times - offset_ms
    if at.kind == AtKind.START:
        pinned = ev.ctx.start_ms
    elif at.kind == AtKind.END:
        pinned = ev.ctx.end_ms
    else:
        pinned = at.ms
    return np.full(times.shape[0], pinned - offset_ms, dtype=np.int64)


class Flat:
    """Samples of several series in one array; ``offsets[i]:offsets[i+1]`` is series i."""

    __slots__ = ("labels", "offsets", "ts", "vals")

    def __init__(self, labels: list[Labels], offsets: I64, ts: I64, vals: F64) -> None:
        self.labels = labels
        self.offsets = offsets
        self.ts = ts
        self.vals = vals

    @classmethod
    def from_series(cls, data: Sequence[SeriesData]) -> Flat:
        labels = [s.labels for s in data]
        lengths = np.fromiter((len(s.timestamps) for s in data), dtype=np.int64, count=len(data))
        offsets = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if data:
            ts = np.concatenate([np.asarray(s.timestamps, dtype=np.int64) for s in data])
            vals = np.concatenate([np.asarray(s.values, dtype=np.float64) for s in data])
        else:
            ts = np.zeros(0, dtype=np.int64)
            vals = np.zeros(0)
        return cls(labels, offsets, ts, vals)

    def drop_stale(self) -> Flat:
        keep = ~stale_mask(self.vals)
        if bool(keep.all()):
            return self
        cum = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=cum[1:])
        return Flat(self.labels, cum[self.offsets], self.ts[keep], self.vals[keep])

    def series_ids(self) -> I64:
        return np.repeat(np.arange(len(self.labels), dtype=np.int64), np.diff(self.offsets))


def fetch(ev: Evaluator, node: VectorSelector, start_ms: int, end_ms: int) -> Flat:
    """Every series the selector matches with its samples in ``[start_ms, end_ms]``."""
    ev.ctx.check_time()
    store = ev.ctx.store
    select_flat = getattr(store, "select_flat", None)
    if len(node.matcher_sets) == 1 and select_flat is not None:
        got: FlatSeries | None = select_flat(list(node.matcher_sets[0]), start_ms, end_ms)
        if got is not None:
            flat = Flat(got.labels, got.offsets, got.timestamps, got.values)
            ev.ctx.account(len(flat.ts), "selecting series")
            return flat
    if len(node.matcher_sets) == 1:
        data = store.select(list(node.matcher_sets[0]), start_ms, end_ms)
    else:
        merged: dict[Labels, SeriesData] = {}
        for group in node.matcher_sets:
            for s in store.select(list(group), start_ms, end_ms):
                merged.setdefault(s.labels, s)
        data = list(merged.values())
    flat = Flat.from_series(data)
    ev.ctx.account(len(flat.ts), "selecting series")
    return flat


def bounds(flat: Flat, starts: I64, ends: I64) -> tuple[I64, I64]:
    """Per series and step, the sample indices ``[lo, hi)`` with ``starts <= ts <= ends``."""
    n = len(flat.labels)
    k = starts.shape[0]
    if n == 0:
        empty = np.zeros((0, k), dtype=np.int64)
        return empty, empty
    lows = [int(starts.min())]
    highs = [int(ends.max())]
    if len(flat.ts):
        lows.append(int(flat.ts.min()))
        highs.append(int(flat.ts.max()))
    base = min(lows)
    span = max(highs) - base + 2
    # Few steps over many series: one search over combined (series, time) keys. Many steps:
    # a search per series, whose samples stay in the CPU cache.
    if k <= _PER_SERIES_MIN_STEPS and span * (n + 1) < _KEY_LIMIT:
        keys = flat.series_ids() * span + (flat.ts - base)
        rows = (np.arange(n, dtype=np.int64) * span)[:, None]
        lo = np.searchsorted(keys, rows + (starts - base)[None, :], side="left")
        hi = np.searchsorted(keys, rows + (ends - base)[None, :], side="right")
        return lo.astype(np.int64, copy=False), hi.astype(np.int64, copy=False)
    lo = np.empty((n, k), dtype=np.int64)
    hi = np.empty((n, k), dtype=np.int64)
    offsets = flat.offsets.tolist()
    ts = flat.ts
    for i in range(n):
        a, b = offsets[i], offsets[i + 1]
        part = ts[a:b]
        np.add(np.searchsorted(part, starts, side="left"), a, out=lo[i])
        np.add(np.searchsorted(part, ends, side="right"), a, out=hi[i])
    return lo, hi


def instant(ev: Evaluator, node: VectorSelector, times: I64) -> Steps:
    return instant_with_timestamps(ev, node, times)[0]


def instant_with_timestamps(ev: Evaluator, node: VectorSelector, times: I64) -> tuple[Steps, I64]:
    """The selector's value at every step, and the timestamp of the sample it came from."""
    at_times = resolve_times(ev, times, node.at, node.offset_ms)
    lookback = ev.ctx.lookback_ms
    flat = fetch(ev, node, int(at_times.min()) - lookback, int(at_times.max()))
    n, k = len(flat.labels), times.shape[0]
    if n == 0 or not len(flat.ts):
        return Steps.empty(k), np.zeros((0, k), dtype=np.int64)
    _, hi = bounds(flat, at_times - lookback, at_times)
    idx = hi - 1
    present = idx >= flat.offsets[:-1, None]
    safe = np.maximum(idx, 0)
    sample_ts = flat.ts[safe]
    present &= sample_ts >= (at_times - lookback)[None, :]
    values = flat.vals[safe]
    present &= ~stale_mask(values)
    out = Steps(flat.labels, values, present)
    ev.ctx.account_steps(out)
    return out, sample_ts


def matrix(ev: Evaluator, node: MatrixSelector, times: I64) -> Ranges:
    ends = resolve_times(ev, times, node.selector.at, node.selector.offset_ms)
    starts = ends - node.range_ms
    flat = fetch(ev, node.selector, int(starts.min()), int(ends.max())).drop_stale()
    lo, hi = bounds(flat, starts, ends)
    return Ranges(
        labels=flat.labels,
        offsets=flat.offsets,
        ts=flat.ts,
        vals=flat.vals,
        lo=lo,
        hi=hi,
        times=times,
        ends=ends,
        range_ms=node.range_ms,
    )


def subquery(ev: Evaluator, node: Subquery, times: I64) -> Ranges:
    step = node.step_ms or ev.ctx.subquery_step_ms
    if step <= 0:
        raise QueryError("a subquery step must be positive")
    ends = resolve_times(ev, times, node.at, node.offset_ms)
    first = int(ends.min()) - node.range_ms
    start = -((-first) // step) * step  # first multiple of the step at or after `first`
    last = int(ends.max())
    ev.ctx.account(max(0, (last - start) // step + 1), "evaluating a subquery")
    inner_times = np.arange(start, last + 1, step, dtype=np.int64)
    if inner_times.shape[0] == 0:
        inner = Steps.empty(0)
    else:
        value = ev.eval(node.expr, inner_times)
        inner = _as_steps(value, inner_times.shape[0])
    flat = steps_to_flat(inner, inner_times)
    lo, hi = bounds(flat, ends - node.range_ms, ends)
    return Ranges(
        labels=flat.labels,
        offsets=flat.offsets,
        ts=flat.ts,
        vals=flat.vals,
        lo=lo,
        hi=hi,
        times=times,
        ends=ends,
        range_ms=node.range_ms,
    )


def _as_steps(value: object, k: int) -> Steps:
    if isinstance(value, Steps):
        return value
    if isinstance(value, ScalarSteps):
        return Steps([Labels()], value.values.reshape(1, k), np.ones((1, k), dtype=bool))
    if isinstance(value, StringValue):
        raise QueryError("a subquery needs an instant vector or a scalar, not a string")
    raise QueryError("a subquery needs an instant vector or a scalar, not a range vector")


def steps_to_flat(steps: Steps, times: I64) -> Flat:
    """The points of an instant vector evaluated at ``times``, as flat series samples."""
    keep = steps.present.any(axis=1) if steps.k else np.zeros(steps.n, dtype=bool)
    rows = np.flatnonzero(keep)
    present = steps.present[rows]
    counts = present.sum(axis=1)
    offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ts = np.broadcast_to(times, present.shape)[present]
    vals = steps.values[rows][present]
    return Flat([steps.labels[i] for i in rows.tolist()], offsets, ts.astype(np.int64), vals)


def matchers_of(node: VectorSelector) -> list[Matcher]:
    return list(node.matcher_sets[0]) if node.matcher_sets else []
