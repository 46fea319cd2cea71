"""The query engine: :class:`Engine` runs instant and range queries against a
:class:`~watchkeeper.tsdb.base.SeriesStore`.

Every expression is evaluated at all of a query's steps at once (see
:mod:`watchkeeper.promql.model`); an instant query is a range query with one step.
Sub-expressions pinned by ``@`` are evaluated once and copied to every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import QueryError, QueryLimitError, QueryParseError, QueryTimeoutError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import aggregations, binary, functions, selectors
from watchkeeper.promql.ast import (
    Aggregate,
    Binary,
    Call,
    MatrixSelector,
    Node,
    NumberLiteral,
    StringLiteral,
    Subquery,
    Unary,
    ValueType,
    VectorSelector,
    parse,
    walk,
)
from watchkeeper.promql.model import (
    I64,
    Ranges,
    ScalarSteps,
    Steps,
    StringValue,
    Value,
    drop_names,
    merge_same_labels,
)
from watchkeeper.promql.protocol import range_ms, rule_samples, seconds_to_ms
from watchkeeper.promql.values import Matrix, Result, Sample, Scalar, Series, String, Vector
from watchkeeper.tsdb.base import SeriesStore

MAX_POINTS_PER_SERIES = 11_000
EXPERIMENTAL_FUNCTIONS = frozenset({"sort_by_label", "sort_by_label_desc", "mad_over_time"})


@dataclass(slots=True)
class QueryContext:
    """Per-query settings and budgets."""

    store: SeriesStore
    clock: Clock
    start_ms: int
    end_ms: int
    lookback_ms: int
    max_samples: int
    timeout_s: float
    deadline: float
    subquery_step_ms: int
    samples_loaded: int = 0

    def check_time(self) -> None:
        if self.clock.monotonic() > self.deadline:
            raise QueryTimeoutError(
                f"query timed out after {self.timeout_s:g}s; narrow the time range, select "
                "fewer series or raise the query timeout"
            )

    def account(self, samples: int, doing: str) -> None:
        """Count samples loaded from storage; too many is a :class:`QueryLimitError`."""
        self.samples_loaded += samples
        if self.samples_loaded > self.max_samples:
            raise QueryLimitError(
                f"query processing would load too many samples into memory while {doing} "
                f"(limit {self.max_samples:,}); select fewer series, a shorter range or a "
                "larger step"
            )

    def account_steps(self, steps: Steps) -> None:
        cells = steps.n * steps.k
        if cells > self.max_samples and int(steps.present.sum()) > self.max_samples:
            raise QueryLimitError(
                f"query processing would hold more than {self.max_samples:,} samples in "
                "memory at once; select fewer series, a shorter range or a larger step"
            )


class Evaluator:
    """Evaluates engine nodes at an array of step times."""

    def __init__(self, ctx: QueryContext) -> None:
        self.ctx = ctx

    def eval(self, node: Node, times: I64) -> Value:
        self.ctx.check_time()
        k = times.shape[0]
        if node.invariant and k > 1 and not isinstance(node, NumberLiteral | StringLiteral):
            return broadcast(self._eval(node, times[:1]), times)
        return self._eval(node, times)

    def _eval(self, node: Node, times: I64) -> Value:
        if isinstance(node, NumberLiteral):
            return ScalarSteps(np.full(times.shape[0], node.value))
        if isinstance(node, StringLiteral):
            return StringValue(node.value)
        if isinstance(node, VectorSelector):
            return selectors.instant(self, node, times)
        if isinstance(node, MatrixSelector):
            return selectors.matrix(self, node, times)
        if isinstance(node, Subquery):
            return selectors.subquery(self, node, times)
        if isinstance(node, Call):
            return functions.call(self, node, times)
        if isinstance(node, Aggregate):
            return aggregations.aggregate(self, node, times)
        if isinstance(node, Binary):
            return binary.evaluate(self, node, times)
        if isinstance(node, Unary):
            return self._negate(node, times)
        raise QueryError(f"cannot evaluate {type(node).__name__}")

    def _negate(self, node: Unary, times: I64) -> Value:
        value = self.eval(node.expr, times)
        if isinstance(value, ScalarSteps):
            return ScalarSteps(-value.values)
        if isinstance(value, Steps):
            labels = drop_names(value.labels)
            return merge_same_labels(Steps(labels, -value.values, value.present))
        raise QueryError("unary minus needs a scalar or an instant vector")

    def eval_steps(self, node: Node, times: I64) -> Steps:
        value = self.eval(node, times)
        if isinstance(value, Steps):
            return value
        raise QueryError(f"expected an instant vector, got {_type_name(value)}")

    def eval_scalar(self, node: Node, times: I64) -> ScalarSteps:
        value = self.eval(node, times)
        if isinstance(value, ScalarSteps):
            return value
        raise QueryError(f"expected a scalar, got {_type_name(value)}")

    def eval_ranges(self, node: Node, times: I64) -> Ranges:
        value = self.eval(node, times)
        if isinstance(value, Ranges):
            return value
        raise QueryError(f"expected a range vector, got {_type_name(value)}")


def _type_name(value: Value) -> str:
    if isinstance(value, Steps):
        return "an instant vector"
    if isinstance(value, ScalarSteps):
        return "a scalar"
    if isinstance(value, StringValue):
        return "a string"
    return "a range vector"


def broadcast(value: Value, times: I64) -> Value:
    """Copy a value computed at the first step to every step of ``times``."""
    k = times.shape[0]
    if isinstance(value, ScalarSteps):
        return ScalarSteps(np.repeat(value.values[:1], k))
    if isinstance(value, Steps):
        return Steps(
            value.labels,
            np.repeat(value.values[:, :1], k, axis=1),
            np.repeat(value.present[:, :1], k, axis=1),
        )
    if isinstance(value, Ranges):
        return Ranges(
            labels=value.labels,
            offsets=value.offsets,
            ts=value.ts,
            vals=value.vals,
            lo=np.repeat(value.lo[:, :1], k, axis=1),
            hi=np.repeat(value.hi[:, :1], k, axis=1),
            times=times,
            ends=np.repeat(value.ends[:1], k),
            range_ms=value.range_ms,
        )
    return value


class Engine:
    """PromQL over a :class:`SeriesStore`.

    ``lookback_s`` is how far back an instant selector looks for a sample; ``max_samples``
    bounds the samples one query may load; ``timeout_s`` bounds its run time (measured on
    ``clock.monotonic()``); ``default_subquery_step_s`` is the step of ``x[5m:]``.
    """

    def __init__(
        self,
        store: SeriesStore,
        *,
        clock: Clock,
        lookback_s: float = 300.0,
        max_samples: int = 50_000_000,
        timeout_s: float = 120.0,
        default_subquery_step_s: float = 60.0,
        experimental_functions: bool = False,
    ) -> None:
        if lookback_s <= 0 or timeout_s <= 0 or max_samples <= 0:
            raise ValueError("lookback_s, timeout_s and max_samples must be positive")
        self.store = store
        self.clock = clock
        self.lookback_ms = round(lookback_s * 1000)
        self.max_samples = max_samples
        self.timeout_s = timeout_s
        self.default_subquery_step_ms = round(default_subquery_step_s * 1000)
        self.experimental_functions = experimental_functions

    def parse(self, expr: str) -> Node:
        node = parse(expr)
        if not self.experimental_functions:
            for sub in walk(node):
                if isinstance(sub, Call) and sub.func in EXPERIMENTAL_FUNCTIONS:
                    raise QueryParseError(
                        f"function {sub.func!r} is experimental and not enabled in {expr!r}"
                    )
        return node

    def _context(self, start_ms: int, end_ms: int, timeout_s: float | None) -> QueryContext:
        timeout = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        return QueryContext(
            store=self.store,
            clock=self.clock,
            start_ms=start_ms,
            end_ms=end_ms,
            lookback_ms=self.lookback_ms,
            max_samples=self.max_samples,
            timeout_s=timeout,
            deadline=self.clock.monotonic() + timeout,
            subquery_step_ms=self.default_subquery_step_ms,
        )

    def instant(
        self, expr: str, at_s: float | None = None, *, timeout_s: float | None = None
    ) -> Result:
        """Evaluate ``expr`` at ``at_s`` (seconds since the epoch; now when omitted)."""
        when = self.clock.now() if at_s is None else at_s
        return self.instant_ms(expr, seconds_to_ms(when), timeout_s=timeout_s)

    def instant_ms(self, expr: str, at_ms: int, *, timeout_s: float | None = None) -> Result:
        node = self.parse(expr)
        ctx = self._context(at_ms, at_ms, timeout_s)
        with np.errstate(all="ignore"):  # NaN and ±Inf are ordinary PromQL results
            value = Evaluator(ctx).eval(node, np.array([at_ms], dtype=np.int64))
            return _instant_result(value, at_ms)

    def samples(self, expr: str, at_s: float) -> list[tuple[Labels, float]]:
        """An instant query as (labels, value) pairs (see :func:`rule_samples`)."""
        return rule_samples(expr, self.instant(expr, at_s))

    def range(
        self,
        expr: str,
        start_s: float,
        end_s: float,
        step_s: float,
        *,
        timeout_s: float | None = None,
    ) -> Matrix:
        """Evaluate ``expr`` at ``start_s, start_s + step_s, ... <= end_s``."""
        return self.range_ms(expr, *range_ms(start_s, end_s, step_s), timeout_s=timeout_s)

    def range_ms(
        self,
        expr: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float | None = None,
    ) -> Matrix:
        if step_ms <= 0:
            raise QueryParseError(
                "zero or negative query resolution step widths are not accepted; "
                "give a positive step such as 15s"
            )
        if end_ms < start_ms:
            raise QueryParseError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms + 1 > MAX_POINTS_PER_SERIES:
            raise QueryParseError(
                f"exceeded maximum resolution of {MAX_POINTS_PER_SERIES:,} points per "
                "timeseries; try decreasing the query resolution (?step=XX)"
            )
        node = self.parse(expr)
        if node.type not in (ValueType.VECTOR, ValueType.SCALAR):
            raise QueryParseError(
                f'invalid expression type "{_api_type(node.type)}" for range query, '
                "must be Scalar or instant Vector"
            )
        ctx = self._context(start_ms, end_ms, timeout_s)
        times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        with np.errstate(all="ignore"):  # NaN and ±Inf are ordinary PromQL results
            value = Evaluator(ctx).eval(node, times)
            return _range_result(value, times)


def _api_type(t: ValueType) -> str:
    return "range vector" if t is ValueType.MATRIX else str(t)


def _instant_result(value: Value, at_ms: int) -> Result:
    if isinstance(value, ScalarSteps):
        return Scalar(float(value.values[0]), at_ms)
    if isinstance(value, StringValue):
        return String(value.value, at_ms)
    if isinstance(value, Steps):
        rows = np.flatnonzero(value.present[:, 0]).tolist()
        col = value.values[:, 0].tolist()
        return Vector(tuple(Sample(value.labels[i], col[i], at_ms) for i in rows), at_ms)
    series = []
    for i, lab in enumerate(value.labels):
        lo, hi = int(value.lo[i, 0]), int(value.hi[i, 0])
        if hi > lo:
            series.append(Series(lab, value.ts[lo:hi].copy(), value.vals[lo:hi].copy()))
    series.sort(key=lambda s: s.labels.items_tuple)
    return Matrix(tuple(series))


def _range_result(value: Value, times: I64) -> Matrix:
    if isinstance(value, ScalarSteps):
        return Matrix((Series(Labels(), times.copy(), value.values.astype(np.float64)),))
    if not isinstance(value, Steps):
        raise QueryError("a range query needs a scalar or an instant vector expression")
    series = []
    for i, lab in enumerate(value.labels):
        mask = value.present[i]
        if mask.any():
            series.append(Series(lab, times[mask], value.values[i][mask]))
    series.sort(key=lambda s: s.labels.items_tuple)
    return Matrix(tuple(series))
