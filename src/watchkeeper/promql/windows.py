"""Vectorised reductions over the windows of a :class:`~watchkeeper.promql.model.Ranges`.

Windows overlap (each step's range covers samples of neighbouring steps), so sums use
``np.ufunc.reduceat`` over interleaved ``[lo, hi)`` bounds, and reductions that need every
value of a window (quantiles, regressions, smoothing) gather the windows into a padded
2-D array, in chunks that bound memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from watchkeeper.promql.model import BOOL, F64, I64, Ranges

_CHUNK_CELLS = 4_000_000
_EPS = np.finfo(np.float64).eps


def reduce_windows(ufunc: np.ufunc, data: F64, lo: I64, hi: I64, empty: float) -> F64:
    """``ufunc.reduce(data[lo:hi])`` for every window; ``empty`` where ``lo >= hi``."""
    shape = lo.shape
    flat_lo = lo.ravel()
    flat_hi = hi.ravel()
    out = np.full(flat_lo.shape[0], empty, dtype=np.float64)
    nonempty = flat_hi > flat_lo
    if not data.shape[0] or not nonempty.any():
        return out.reshape(shape)
    padded = np.append(data, 0.0)
    starts = flat_lo[nonempty]
    stops = flat_hi[nonempty]
    idx = np.empty(starts.shape[0] * 2, dtype=np.int64)
    idx[0::2] = starts
    idx[1::2] = stops
    with np.errstate(all="ignore"):
        out[nonempty] = ufunc.reduceat(padded, idx)[0::2]
    return out.reshape(shape)


def window_sums(data: F64, lo: I64, hi: I64) -> F64:
    """Per-window sums, as exact as Prometheus' compensated summation: a plain sum where
    its error bound is negligible, ``math.fsum`` for windows at risk of cancellation."""
    plain = reduce_windows(np.add, data, lo, hi, 0.0)
    magnitude = reduce_windows(np.add, np.abs(data), lo, hi, 0.0)
    counts = (hi - lo).astype(np.float64)
    with np.errstate(all="ignore"):
        risky = np.isfinite(magnitude) & (counts * _EPS * magnitude > 1e-9 * np.abs(plain))
        risky &= counts > 1
    if risky.any():
        for pos in zip(*np.nonzero(risky), strict=True):
            a, b = int(lo[pos]), int(hi[pos])
            plain[pos] = _safe_fsum(data[a:b])
    return plain


def _safe_fsum(values: F64) -> float:
    try:
        return math.fsum(values.tolist())
    except OverflowError:
        return float(np.sum(values))


def prefix_counts(flags: BOOL) -> I64:
    """``out[i]`` = number of true flags in ``flags[:i+1]``."""
    return np.cumsum(flags, dtype=np.int64)


def gathered(
    r: Ranges, valid: BOOL, min_count: int = 1
) -> Iterator[tuple[tuple[I64, I64], F64, BOOL, I64]]:
    """Yield chunks of windows with at least ``min_count`` samples as padded 2-D arrays:
    ((row index, step index), values[m, W], mask[m, W], sample index[m, W])."""
    counts = r.hi - r.lo
    sel = valid & (counts >= min_count)
    rows, cols = np.nonzero(sel)
    if rows.shape[0] == 0:
        return
    lo = r.lo[rows, cols]
    cnt = counts[rows, cols]
    width = int(cnt.max())
    per_chunk = max(1, _CHUNK_CELLS // max(width, 1))
    span = np.arange(width, dtype=np.int64)
    last = max(r.vals.shape[0] - 1, 0)
    for start in range(0, rows.shape[0], per_chunk):
        stop = start + per_chunk
        c_lo = lo[start:stop]
        c_cnt = cnt[start:stop]
        mask = span[None, :] < c_cnt[:, None]
        idx = np.minimum(c_lo[:, None] + span[None, :], last)
        values = np.where(mask, r.vals[idx], np.nan)
        yield (rows[start:stop], cols[start:stop]), values, mask, idx


def apply_gathered(
    r: Ranges,
    fn: Callable[[F64, BOOL, I64, tuple[I64, I64]], F64],
    *,
    min_count: int = 1,
    valid: BOOL | None = None,
) -> tuple[F64, BOOL]:
    """Run ``fn(values, mask, sample_idx, (rows, cols))`` over gathered windows; return
    (values[n, k], present[n, k])."""
    shape = (r.n, r.k)
    out = np.zeros(shape)
    present = np.zeros(shape, dtype=bool)
    ok = np.ones(shape, dtype=bool) if valid is None else valid
    for (rows, cols), values, mask, idx in gathered(r, ok, min_count):
        out[rows, cols] = fn(values, mask, idx, (rows, cols))
        present[rows, cols] = True
    return out, present


def sorted_windows(values: F64, mask: BOOL) -> F64:
    """Each row sorted as Go's sort.Float64s does (NaN first), padding last."""
    category = np.where(mask, np.where(np.isnan(values), 0, 1), 2)
    key = np.where(mask & ~np.isnan(values), values, 0.0)
    order = np.lexsort((key, category), axis=1)
    return np.take_along_axis(values, order, axis=1)


def quantile_rows(q: F64, values: F64, mask: BOOL) -> F64:
    """Prometheus' ``quantile`` (linear interpolation between closest ranks) per row;
    ``q`` holds one φ per row."""
    n = mask.sum(axis=1).astype(np.float64)
    srt = sorted_windows(values, mask)
    with np.errstate(invalid="ignore"):
        rank = q * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
    rows = np.arange(values.shape[0])
    li = np.nan_to_num(lower, nan=0.0).astype(np.int64)
    ui = np.nan_to_num(upper, nan=0.0).astype(np.int64)
    li = np.clip(li, 0, max(values.shape[1] - 1, 0))
    ui = np.clip(ui, 0, max(values.shape[1] - 1, 0))
    with np.errstate(invalid="ignore"):
        result = srt[rows, li] * (1 - weight) + srt[rows, ui] * weight
    result = np.where(q < 0, -np.inf, result)
    result = np.where(q > 1, np.inf, result)
    return np.where(np.isnan(q) | (n == 0), np.nan, result)
