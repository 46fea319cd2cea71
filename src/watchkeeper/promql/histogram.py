"""``histogram_quantile`` over classic histograms (``_bucket`` series with an ``le``
label), following Prometheus' bucketQuantile: buckets sorted by bound, equal bounds
coalesced, tiny and negative deltas flattened, linear interpolation inside the bucket.
Vectorised over steps; bucket counts per histogram are small."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.promql.ast import Call
from watchkeeper.promql.model import BOOL, F64, I64, Steps, Value, merge_same_labels

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

BUCKET_LABEL = "le"
SMALL_DELTA_TOLERANCE = 1e-12
_MIN_NORMAL = 2.2250738585072014e-308


def parse_bound(text: str) -> float | None:
    """Go's strconv.ParseFloat for an ``le`` value (``+Inf``, ``1e3``, ``0x1p-2``...)."""
    cleaned = text.strip().replace("_", "")
    if cleaned != text or not text:
        return None
    try:
        return float(cleaned)
    except ValueError:
        pass
    try:
        return float.fromhex(cleaned)
    except ValueError:
        return None


def _almost_equal(a: F64, b: F64, eps: float) -> BOOL:
    with np.errstate(invalid="ignore", over="ignore"):
        both_nan = np.isnan(a) & np.isnan(b)
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
        rel = diff / np.minimum(abs_sum, np.finfo(np.float64).max)
        close = np.where(tiny, diff < eps * _MIN_NORMAL, rel < eps)
    out: BOOL = np.asarray(both_nan | (a == b) | close, dtype=bool)
    return out


def bucket_quantile(q: F64, bounds: F64, counts: F64, present: BOOL) -> tuple[F64, BOOL]:
    """Quantiles of one histogram at every step. ``bounds`` (sorted, shape [b]);
    ``counts``/``present`` shape [b, k]. Returns (values[k], present[k])."""
    b, k = counts.shape
    has: BOOL = np.asarray(present.any(axis=0), dtype=bool)
    result = np.full(k, np.nan)
    # Coalesce equal bounds.
    uniq, inverse = np.unique(bounds, return_inverse=True)
    if uniq.shape[0] != b:
        summed = np.zeros((uniq.shape[0], k))
        np.add.at(summed, inverse, np.where(present, counts, 0.0))
        seen = np.zeros((uniq.shape[0], k), dtype=bool)
        np.logical_or.at(seen, inverse, present)
        bounds, counts, present = uniq, summed, seen
        b = bounds.shape[0]
    # Highest present bucket must be +Inf.
    top = np.where(present, np.arange(b)[:, None], -1).max(axis=0)
    inf_top = (top >= 0) & np.isposinf(bounds[np.maximum(top, 0)])
    # Monotonicity with small-delta tolerance, skipping absent buckets.
    fixed = counts.copy()
    prev = np.full(k, np.nan)
    for i in range(b):
        cur = fixed[i]
        live = present[i]
        first = live & np.isnan(prev)
        same = live & ~first & (cur == prev)
        close = live & ~first & ~same & _almost_equal(prev, cur, SMALL_DELTA_TOLERANCE)
        lower = live & ~first & ~same & ~close & (cur < prev)
        fixed[i] = np.where(close | lower, prev, cur)
        advance = first | (live & ~same & ~close & ~lower)
        prev = np.where(advance, cur, prev)
    n_present = present.sum(axis=0)
    for j in range(k):
        if not has[j]:
            continue
        qj = float(q[j])
        if math.isnan(qj):
            continue
        if qj < 0:
            result[j] = -math.inf
            continue
        if qj > 1:
            result[j] = math.inf
            continue
        if not inf_top[j] or n_present[j] < 2:
            continue
        rows = np.flatnonzero(present[:, j])
        ub = bounds[rows]
        cnt = fixed[rows, j]
        observations = cnt[-1]
        if observations == 0:
            continue
        rank = qj * observations
        idx = int(np.searchsorted(cnt[:-1], rank, side="left"))
        # sort.Search semantics: first i with cnt[i] >= rank (cnt is monotonic now).
        if idx == len(rows) - 1:
            result[j] = ub[-2]
            continue
        if idx == 0 and ub[0] <= 0:
            result[j] = ub[0]
            continue
        start = 0.0
        end = ub[idx]
        count = cnt[idx]
        if idx > 0:
            start = ub[idx - 1]
            count -= cnt[idx - 1]
            rank -= cnt[idx - 1]
        result[j] = start + (end - start) * (rank / count)
    return result, has


def histogram_quantile(ev: Evaluator, node: Call, times: I64) -> Value:
    q = ev.eval_scalar(node.args[0], times).values
    v = ev.eval_steps(node.args[1], times)
    k = times.shape[0]
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, lab in enumerate(v.labels):
        bound = parse_bound(lab.get(BUCKET_LABEL, ""))
        if bound is None:
            continue
        groups.setdefault(lab.without(BUCKET_LABEL), []).append((bound, i))
    labels: list[Labels] = []
    values = np.zeros((len(groups), k))
    present = np.zeros((len(groups), k), dtype=bool)
    for g, (key, members) in enumerate(groups.items()):
        members.sort(key=lambda m: m[0])
        rows = np.asarray([m[1] for m in members], dtype=np.int64)
        bounds = np.asarray([m[0] for m in members])
        values[g], present[g] = bucket_quantile(q, bounds, v.values[rows], v.present[rows])
        labels.append(key.without(METRIC_NAME))
    return merge_same_labels(Steps(labels, values, present))
