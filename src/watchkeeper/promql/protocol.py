"""The query-engine interface that rules, the dashboard and the Prometheus query API use:
the embedded :class:`~watchkeeper.promql.Engine` and the remote PromQL client both fit."""

from __future__ import annotations

import math
from typing import Protocol

from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import QueryError, QueryParseError
from watchkeeper.core.labels import Labels
from watchkeeper.promql.values import Matrix, Result, Scalar, Vector


class QueryEngine(Protocol):
    """What rules, the dashboard and the Prometheus query API need from an engine; the
    embedded :class:`~watchkeeper.promql.Engine` and the remote client both fit."""

    clock: Clock

    def instant(
        self, expr: str, at_s: float | None = None, *, timeout_s: float | None = None
    ) -> Result: ...

    def instant_ms(self, expr: str, at_ms: int, *, timeout_s: float | None = None) -> Result: ...

    def samples(self, expr: str, at_s: float) -> list[tuple[Labels, float]]: ...

    def range(
        self,
        expr: str,
        start_s: float,
        end_s: float,
        step_s: float,
        *,
        timeout_s: float | None = None,
    ) -> Matrix: ...

    def range_ms(
        self,
        expr: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float | None = None,
    ) -> Matrix: ...


def seconds_to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def range_ms(start_s: float, end_s: float, step_s: float) -> tuple[int, int, int]:
    """A range query's start, end and step in milliseconds; a non-finite one is a
    :class:`QueryParseError`."""
    for name, v in (("start", start_s), ("end", end_s), ("step", step_s)):
        if not math.isfinite(v):
            raise QueryParseError(f"invalid {name} {v!r}: give a finite number of seconds")
    return seconds_to_ms(start_s), seconds_to_ms(end_s), seconds_to_ms(step_s)


def rule_samples(expr: str, result: Result) -> list[tuple[Labels, float]]:
    """An instant query's result as (labels, value) pairs, the shape rule evaluation
    reads: a scalar result is one sample with empty labels. A string or range-vector
    result is a :class:`QueryError`."""
    if isinstance(result, Vector):
        return [(s.labels, s.value) for s in result]
    if isinstance(result, Scalar):
        return [(Labels(), result.value)]
    raise QueryError(
        f"{expr!r} returns a {result.result_type}; rules need an instant vector or a scalar"
    )
