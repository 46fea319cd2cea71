"""The query-engine interface that rules, the dashboard and the Prometheus query API use:
the embedded :class:`~watchkeeper.promql.Engine` and the remote PromQL client both fit."""

from __future__ import annotations

from typing import Protocol

from watchkeeper.core.clock import Clock
from watchkeeper.core.labels import Labels
from watchkeeper.promql.values import Matrix, Result


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
