"""Function calls: dispatch, the instant-vector functions (math, clamping, rounding, time
and date, ``vector``, ``scalar``, ``sort*``, ``absent*``, ``timestamp``) and the glue that
runs the range-vector functions of :mod:`rangefuncs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels, MatchOp
from watchkeeper.promql import datefuncs, histogram, labelfuncs, selectors
from watchkeeper.promql.ast import Call, MatrixSelector, Node, VectorSelector
from watchkeeper.promql.model import (
    DUPLICATE_LABELSET,
    F64,
    I64,
    Ranges,
    ScalarSteps,
    Steps,
    Value,
    drop_names,
    merge_same_labels,
)
from watchkeeper.promql.rangefuncs import RANGE_FUNCTIONS

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

Impl = Callable[["Evaluator", Call, I64], Value]


def call(ev: Evaluator, node: Call, times: I64) -> Value:
    if node.func in RANGE_FUNCTIONS:
        return _range_call(ev, node, times)
    impl = FUNCTIONS.get(node.func)
    if impl is None:
        raise QueryError(f"function {node.func!r} is not supported by this engine")
    return impl(ev, node, times)


def _scalar_args(ev: Evaluator, node: Call, times: I64, skip: int) -> list[F64]:
    return [ev.eval_scalar(a, times).values for i, a in enumerate(node.args) if i != skip]


def _range_call(ev: Evaluator, node: Call, times: I64) -> Value:
    impl, index = RANGE_FUNCTIONS[node.func]
    others = _scalar_args(ev, node, times, index)
    ranges = ev.eval_ranges(node.args[index], times)
    values, present = impl(ranges, others)
    labels = ranges.labels if node.func == "last_over_time" else drop_names(ranges.labels)
    out = Steps(labels, values, present)
    _check_unique(out)
    return out


def _check_unique(steps: Steps) -> None:
    """A function's output series must have distinct label sets (over the whole query)."""
    seen: set[Labels] = set()
    live: list[bool] = np.asarray(steps.present.any(axis=1), dtype=bool).tolist()
    for lab, has in zip(steps.labels, live, strict=True):
        if not has:
            continue
        if lab in seen:
            raise QueryError(f"{DUPLICATE_LABELSET}: {lab}")
        seen.add(lab)


def _vector_arg(ev: Evaluator, node: Call, times: I64, index: int = 0) -> Steps:
    return ev.eval_steps(node.args[index], times)


def _math(fn: Callable[[F64], F64]) -> Impl:
    def impl(ev: Evaluator, node: Call, times: I64) -> Value:
        v = _vector_arg(ev, node, times)
        with np.errstate(all="ignore"):
            values = fn(v.values)
        labels = drop_names(v.labels)
        return merge_same_labels(Steps(labels, values, v.present))

    return impl


def _sgn(x: F64) -> F64:
    return np.where(np.isnan(x), np.nan, np.sign(x))


def _round(ev: Evaluator, node: Call, times: I64) -> Value:
    v = _vector_arg(ev, node, times)
    nearest = _scalar_args(ev, node, times, 0)[0] if len(node.args) > 1 else np.ones(len(times))
    with np.errstate(all="ignore"):
        inverse = 1.0 / nearest
        values = np.floor(v.values * inverse[None, :] + 0.5) / inverse[None, :]
    labels = drop_names(v.labels)
    return merge_same_labels(Steps(labels, values, v.present))


def _clamp(lower: bool, upper: bool) -> Impl:
    def impl(ev: Evaluator, node: Call, times: I64) -> Value:
        v = _vector_arg(ev, node, times)
        bounds = _scalar_args(ev, node, times, 0)
        values = v.values
        present = v.present
        lo = bounds[0] if lower else None
        hi = bounds[-1] if upper else None
        with np.errstate(invalid="ignore"):
            if hi is not None:
                values = np.minimum(hi[None, :], values)
            if lo is not None:
                values = np.maximum(lo[None, :], values)
            if lo is not None and hi is not None:
                present = present & ~(hi < lo)[None, :]
        labels = drop_names(v.labels)
        return merge_same_labels(Steps(labels, values, present))

    return impl


def _vector(ev: Evaluator, node: Call, times: I64) -> Value:
    s = ev.eval_scalar(node.args[0], times)
    k = times.shape[0]
    return Steps([Labels()], s.values.reshape(1, k).copy(), np.ones((1, k), dtype=bool))


def _scalar(ev: Evaluator, node: Call, times: I64) -> Value:
    v = _vector_arg(ev, node, times)
    counts = v.present.sum(axis=0)
    if v.n == 0:
        return ScalarSteps(np.full(times.shape[0], np.nan))
    pick = v.present.argmax(axis=0)
    values = v.values[pick, np.arange(v.k)]
    return ScalarSteps(np.where(counts == 1, values, np.nan))


def _time(ev: Evaluator, node: Call, times: I64) -> Value:
    return ScalarSteps(times.astype(np.float64) / 1000)


def _pi(ev: Evaluator, node: Call, times: I64) -> Value:
    return ScalarSteps(np.full(times.shape[0], math.pi))


def value_order(v: Steps, *, descending: bool) -> I64:
    """Row order by the value at the (single) step, NaN last, ties in input order."""
    col = v.values[:, 0]
    nan = np.isnan(col)
    key = np.where(nan, 0.0, -col if descending else col)
    return np.lexsort((key, nan.astype(np.int8)))


def _sort(descending: bool) -> Impl:
    def impl(ev: Evaluator, node: Call, times: I64) -> Value:
        v = _vector_arg(ev, node, times)
        if v.k != 1 or v.n < 2:
            return v
        return v.take(value_order(v, descending=descending))

    return impl


def absent_labels(arg: Node) -> Labels:
    """The labels ``absent()`` reports: those set by exactly one ``=`` matcher."""
    if isinstance(arg, MatrixSelector):
        arg = arg.selector
    if not isinstance(arg, VectorSelector):
        return Labels()
    values: dict[str, str] = {}
    dropped: set[str] = set()
    for m in arg.matcher_sets[0]:
        if m.name == METRIC_NAME:
            continue
        if m.op is MatchOp.EQUAL and m.name not in values and m.name not in dropped:
            values[m.name] = m.value
        else:
            values.pop(m.name, None)
            dropped.add(m.name)
    return Labels(values)


def _absent(ev: Evaluator, node: Call, times: I64) -> Value:
    v = _vector_arg(ev, node, times)
    missing = ~v.present.any(axis=0) if v.n else np.ones(times.shape[0], dtype=bool)
    k = times.shape[0]
    return Steps([absent_labels(node.args[0])], np.ones((1, k)), missing.reshape(1, k))


def _absent_over_time(ev: Evaluator, node: Call, times: I64) -> Value:
    r: Ranges = ev.eval_ranges(node.args[0], times)
    k = times.shape[0]
    found = (r.hi > r.lo).any(axis=0) if r.n else np.zeros(k, dtype=bool)
    return Steps([absent_labels(node.args[0])], np.ones((1, k)), (~found).reshape(1, k))


def _timestamp(ev: Evaluator, node: Call, times: I64) -> Value:
    arg = node.args[0]
    if isinstance(arg, VectorSelector):
        v, sample_ts = selectors.instant_with_timestamps(ev, arg, times)
        values = sample_ts.astype(np.float64) / 1000
    else:
        v = ev.eval_steps(arg, times)
        values = np.broadcast_to(times.astype(np.float64) / 1000, v.values.shape).copy()
    labels = drop_names(v.labels)
    return merge_same_labels(Steps(labels, values, v.present))


def _native_only(ev: Evaluator, node: Call, times: I64) -> Value:
    """Functions over native histograms: float samples are ignored, so the result is empty."""
    for arg in node.args:
        ev.eval(arg, times)
    return Steps.empty(times.shape[0])


FUNCTIONS: dict[str, Impl] = {
    "abs": _math(np.abs),
    "ceil": _math(np.ceil),
    "floor": _math(np.floor),
    "exp": _math(np.exp),
    "sqrt": _math(np.sqrt),
    "ln": _math(np.log),
    "log2": _math(np.log2),
    "log10": _math(np.log10),
    "sgn": _math(_sgn),
    "sin": _math(np.sin),
    "cos": _math(np.cos),
    "tan": _math(np.tan),
    "asin": _math(np.arcsin),
    "acos": _math(np.arccos),
    "atan": _math(np.arctan),
    "sinh": _math(np.sinh),
    "cosh": _math(np.cosh),
    "tanh": _math(np.tanh),
    "asinh": _math(np.arcsinh),
    "acosh": _math(np.arccosh),
    "atanh": _math(np.arctanh),
    "deg": _math(np.degrees),
    "rad": _math(np.radians),
    "round": _round,
    "clamp": _clamp(True, True),
    "clamp_min": _clamp(True, False),
    "clamp_max": _clamp(False, True),
    "vector": _vector,
    "scalar": _scalar,
    "time": _time,
    "pi": _pi,
    "sort": _sort(False),
    "sort_desc": _sort(True),
    "absent": _absent,
    "absent_over_time": _absent_over_time,
    "timestamp": _timestamp,
    "histogram_quantile": histogram.histogram_quantile,
    "histogram_count": _native_only,
    "histogram_sum": _native_only,
    "histogram_avg": _native_only,
    "histogram_stddev": _native_only,
    "histogram_stdvar": _native_only,
    "histogram_fraction": _native_only,
    "label_replace": labelfuncs.label_replace,
    "label_join": labelfuncs.label_join,
    "sort_by_label": labelfuncs.sort_by_label(descending=False),
    "sort_by_label_desc": labelfuncs.sort_by_label(descending=True),
    **{name: datefuncs.date_function(name) for name in datefuncs.DATE_FUNCTIONS},
}
