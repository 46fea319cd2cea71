"""Functions over range vectors: ``rate`` and friends, ``*_over_time``, ``changes``,
``resets``, ``deriv``, ``predict_linear``, ``holt_winters``, ``absent_over_time``.

Each takes the :class:`Ranges` argument (and per-step scalar arguments) and returns
``(values[n, k], present[n, k])``; the dispatcher in :mod:`functions` drops metric names
and checks for duplicate label sets as Prometheus does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.promql import windows as w
from watchkeeper.promql.model import BOOL, F64, I64, Ranges

RangeResult = tuple[F64, BOOL]
RangeFunc = Callable[[Ranges, list[F64]], RangeResult]


def _empty(r: Ranges) -> RangeResult:
    return np.zeros((r.n, r.k)), np.zeros((r.n, r.k), dtype=bool)


def _series_starts(r: Ranges) -> BOOL:
    """True at the first sample of every series."""
    flags = np.zeros(r.vals.shape[0], dtype=bool)
    starts = r.offsets[:-1][np.diff(r.offsets) > 0]
    flags[starts] = True
    return flags


def _pairwise(r: Ranges, cond: Callable[[F64, F64], BOOL]) -> BOOL:
    """``cond(prev, cur)`` for each sample and its predecessor in the same series."""
    flags = np.zeros(r.vals.shape[0], dtype=bool)
    if r.vals.shape[0] > 1:
        flags[1:] = cond(r.vals[:-1], r.vals[1:])
    flags &= ~_series_starts(r)
    return flags


def extrapolated(r: Ranges, *, counter: bool, rate: bool) -> RangeResult:
    """``rate``, ``increase`` and ``delta`` with Prometheus' extrapolation rules."""
    counts = r.hi - r.lo
    ok = counts >= 2
    if not r.vals.shape[0] or not ok.any():
        return _empty(r)
    first = np.where(ok, r.lo, 0)
    last = np.where(ok, r.hi - 1, 0)
    v_first = r.vals[first]
    result = r.vals[last] - v_first
    if counter:
        resets = _pairwise(r, lambda prev, cur: cur < prev)
        if resets.any():
            corrections = np.zeros(r.vals.shape[0])
            corrections[1:] = np.where(resets[1:], r.vals[:-1], 0.0)
            n_resets = w.prefix_counts(resets)
            has = ok & (n_resets[last] - n_resets[first] > 0)
            if has.any():
                add = w.reduce_windows(np.add, corrections, first + 1, last + 1, 0.0)
                result = np.where(has, result + add, result)
    t_first = r.ts[first].astype(np.float64)
    t_last = r.ts[last].astype(np.float64)
    ends = r.ends[None, :].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_start = (t_first - (ends - r.range_ms)) / 1000
        to_end = (ends - t_last) / 1000
        sampled = (t_last - t_first) / 1000
        average = sampled / (counts - 1)
        threshold = average * 1.1
        to_start = np.where(to_start >= threshold, average / 2, to_start)
        if counter:
            to_zero = sampled * (v_first / result)
            use_zero = (result > 0) & (v_first >= 0) & (to_zero < to_start)
            to_start = np.where(use_zero, to_zero, to_start)
        to_end = np.where(to_end >= threshold, average / 2, to_end)
        factor = (sampled + to_start + to_end) / sampled
        if rate:
            factor = factor / (r.range_ms / 1000)
        result = result * factor
    return result, ok


def instant_value(r: Ranges, *, rate: bool) -> RangeResult:
    """``irate`` and ``idelta``: from the last two samples of each window."""
    counts = r.hi - r.lo
    ok = counts >= 2
    if not r.vals.shape[0] or not ok.any():
        return _empty(r)
    last = np.where(ok, r.hi - 1, 1)
    prev = last - 1
    v_last = r.vals[last]
    v_prev = r.vals[prev]
    if rate:
        result = np.where(v_last < v_prev, v_last, v_last - v_prev)
        interval = (r.ts[last] - r.ts[prev]).astype(np.float64) / 1000
        with np.errstate(divide="ignore", invalid="ignore"):
            result = result / interval
    else:
        result = v_last - v_prev
    return result, ok


def _count_pairs(r: Ranges, flags: BOOL) -> RangeResult:
    counts = r.hi - r.lo
    ok = counts >= 1
    if not r.vals.shape[0] or not ok.any():
        return _empty(r)
    prefix = w.prefix_counts(flags)
    first = np.where(ok, r.lo, 0)
    last = np.where(ok, r.hi - 1, 0)
    return (prefix[last] - prefix[first]).astype(np.float64), ok


def changes(r: Ranges, _: list[F64]) -> RangeResult:
    def changed(prev: F64, cur: F64) -> BOOL:
        out: BOOL = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
        return out

    return _count_pairs(r, _pairwise(r, changed))


def resets(r: Ranges, _: list[F64]) -> RangeResult:
    return _count_pairs(r, _pairwise(r, lambda prev, cur: cur < prev))


def count_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    counts = r.hi - r.lo
    return counts.astype(np.float64), counts > 0


def present_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    counts = r.hi - r.lo
    return np.ones(counts.shape), counts > 0


def last_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    counts = r.hi - r.lo
    ok = counts > 0
    if not r.vals.shape[0]:
        return _empty(r)
    return r.vals[np.where(ok, r.hi - 1, 0)], ok


def min_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    return w.reduce_windows(np.fmin, r.vals, r.lo, r.hi, np.nan), r.hi > r.lo


def max_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    return w.reduce_windows(np.fmax, r.vals, r.lo, r.hi, np.nan), r.hi > r.lo


def sum_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    return w.window_sums(r.vals, r.lo, r.hi), r.hi > r.lo


def avg_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    counts = r.hi - r.lo
    ok = counts > 0
    sums = w.window_sums(r.vals, r.lo, r.hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = sums / np.maximum(counts, 1)
    overflow = ok & np.isinf(avg)
    if overflow.any():
        # The sum overflowed (or holds an infinity): average values pre-divided by n.
        def scaled_mean(values: F64, mask: BOOL, _idx: I64, _pos: tuple[I64, I64]) -> F64:
            n = mask.sum(axis=1)[:, None]
            out: F64 = np.where(mask, values / n, 0.0).sum(axis=1)
            return out

        redo, done = w.apply_gathered(r, scaled_mean, valid=overflow)
        avg = np.where(done, redo, avg)
    return avg, ok


def _variance(values: F64, mask: BOOL, _idx: I64, _pos: tuple[I64, I64]) -> F64:
    n = mask.sum(axis=1)
    shifted = np.where(mask, values - values[:, :1], 0.0)
    mean = shifted.sum(axis=1) / n
    dev = np.where(mask, shifted - mean[:, None], 0.0)
    out: F64 = (dev * dev).sum(axis=1) / n
    return out


def stdvar_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    return w.apply_gathered(r, _variance)


def stddev_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    values, present = w.apply_gathered(r, _variance)
    return np.sqrt(values), present


def quantile_over_time(r: Ranges, args: list[F64]) -> RangeResult:
    phi = args[0]

    def fn(values: F64, mask: BOOL, _idx: I64, pos: tuple[I64, I64]) -> F64:
        return w.quantile_rows(phi[pos[1]], values, mask)

    return w.apply_gathered(r, fn)


def mad_over_time(r: Ranges, _: list[F64]) -> RangeResult:
    def fn(values: F64, mask: BOOL, _idx: I64, _pos: tuple[I64, I64]) -> F64:
        half = np.full(values.shape[0], 0.5)
        median = w.quantile_rows(half, values, mask)
        return w.quantile_rows(half, np.abs(values - median[:, None]), mask)

    return w.apply_gathered(r, fn)


def _regression(values: F64, mask: BOOL, x: F64) -> tuple[F64, F64]:
    """Least-squares slope and intercept per row (Prometheus' linearRegression)."""
    n = mask.sum(axis=1).astype(np.float64)
    xs = np.where(mask, x, 0.0)
    ys = np.where(mask, values, 0.0)
    sum_x = xs.sum(axis=1)
    sum_y = ys.sum(axis=1)
    sum_xy = (xs * ys).sum(axis=1)
    sum_x2 = (xs * xs).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov_xy = sum_xy - sum_x * sum_y / n
        var_x = sum_x2 - sum_x * sum_x / n
        slope = cov_xy / var_x
        intercept = sum_y / n - slope * sum_x / n
    init = values[:, 0]
    const = (np.where(mask, values == init[:, None], True)).all(axis=1)
    inf_const = const & np.isinf(init)
    slope = np.where(const, 0.0, slope)
    intercept = np.where(const, init, intercept)
    slope = np.where(inf_const, np.nan, slope)
    intercept = np.where(inf_const, np.nan, intercept)
    return slope, intercept


def deriv(r: Ranges, _: list[F64]) -> RangeResult:
    def fn(values: F64, mask: BOOL, idx: I64, _pos: tuple[I64, I64]) -> F64:
        ts = r.ts[idx]
        x = (ts - ts[:, :1]).astype(np.float64) / 1e3
        return _regression(values, mask, x)[0]

    return w.apply_gathered(r, fn, min_count=2)


def predict_linear(r: Ranges, args: list[F64]) -> RangeResult:
    duration = args[0]

    def fn(values: F64, mask: BOOL, idx: I64, pos: tuple[I64, I64]) -> F64:
        x = (r.ts[idx] - r.times[pos[1]][:, None]).astype(np.float64) / 1e3
        slope, intercept = _regression(values, mask, x)
        return slope * duration[pos[1]] + intercept

    return w.apply_gathered(r, fn, min_count=2)


def holt_winters(r: Ranges, args: list[F64]) -> RangeResult:
    sf_all, tf_all = args
    for name, arr in (("smoothing", sf_all), ("trend", tf_all)):
        bad = (arr <= 0) | (arr >= 1) | np.isnan(arr)
        if bad.any():
            got = float(arr[np.argmax(bad)])
            raise QueryError(f"invalid {name} factor. Expected: 0 < {name[0]}f < 1, got: {got:f}")

    def fn(values: F64, mask: BOOL, _idx: I64, pos: tuple[I64, I64]) -> F64:
        sf = sf_all[pos[1]]
        tf = tf_all[pos[1]]
        s1 = values[:, 0].copy()
        b = values[:, 1] - values[:, 0]
        s0 = np.zeros_like(s1)
        for i in range(1, values.shape[1]):
            live = mask[:, i]
            x = sf * values[:, i]
            if i > 1:
                b_new = tf * (s1 - s0) + (1 - tf) * b
                b = np.where(live, b_new, b)
            y = (1 - sf) * (s1 + b)
            s0 = np.where(live, s1, s0)
            s1 = np.where(live, x + y, s1)
        return s1

    return w.apply_gathered(r, fn, min_count=2)


RANGE_FUNCTIONS: dict[str, tuple[RangeFunc, int]] = {
    # name: (implementation, index of the range-vector argument)
    "rate": (lambda r, _a: extrapolated(r, counter=True, rate=True), 0),
    "increase": (lambda r, _a: extrapolated(r, counter=True, rate=False), 0),
    "delta": (lambda r, _a: extrapolated(r, counter=False, rate=False), 0),
    "irate": (lambda r, _a: instant_value(r, rate=True), 0),
    "idelta": (lambda r, _a: instant_value(r, rate=False), 0),
    "changes": (changes, 0),
    "resets": (resets, 0),
    "count_over_time": (count_over_time, 0),
    "present_over_time": (present_over_time, 0),
    "last_over_time": (last_over_time, 0),
    "min_over_time": (min_over_time, 0),
    "max_over_time": (max_over_time, 0),
    "sum_over_time": (sum_over_time, 0),
    "avg_over_time": (avg_over_time, 0),
    "stdvar_over_time": (stdvar_over_time, 0),
    "stddev_over_time": (stddev_over_time, 0),
    "quantile_over_time": (quantile_over_time, 1),
    "mad_over_time": (mad_over_time, 0),
    "deriv": (deriv, 0),
    "predict_linear": (predict_linear, 0),
    "holt_winters": (holt_winters, 0),
}
