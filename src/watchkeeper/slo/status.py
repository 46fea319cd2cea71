"""Error budget remaining, burn rates and compliance of each SLO.

The live figures are read from the series the SLO's rules record (one instant query for
every SLO), so the API, the dashboard and the alerts agree. :meth:`SLOStatusReader.period`
computes the same figures for any past period straight from the SLI (for reports).

    reader = SLOStatusReader(query=rt.query_vector, slos=lambda: rt.config.slos,
                             alert_state=rule_alert_state(lambda: rt.rules.groups))
    for status in reader.all(now): status.to_dict()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import AlertState
from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import RuleGroup
from watchkeeper.slo.config import SLOConfig
from watchkeeper.slo.rules import (
    ERRORS,
    LONG_WINDOWS,
    RATIO,
    RAW_WINDOWS,
    TOTAL,
    BurnSeverity,
    group_name,
    sli_queries,
    w,
)

QueryFunc = Callable[[str, float], Sequence[tuple[Labels, float]]]
AlertStateFunc = Callable[[SLOConfig, BurnSeverity], AlertState]
BURN_WINDOWS_SHOWN = (*RAW_WINDOWS, *LONG_WINDOWS)
_RECORDED = (
    '{__name__=~"slo:(sli_error:ratio_rate|sli_total:increase|sli_errors:increase).+", slo!=""}'
)


class Compliance(StrEnum):
    MET = "met"  # the SLI is at or above the objective
    AT_RISK = "at_risk"  # met, but less than a quarter of the budget is left
    BREACHED = "breached"
    NO_DATA = "no_data"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class SLOStatus:
    slo: SLOConfig
    at: float
    window_seconds: float
    events_total: float | None
    events_bad: float | None
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    alerts: dict[str, AlertState] = field(default_factory=dict)

    @property
    def error_ratio(self) -> float | None:
        total, bad = self.events_total, self.events_bad
        if total is None or bad is None or total <= 0:
            return None
        return max(0.0, bad) / total

    @property
    def sli(self) -> float | None:
        """The share of good events in the window, in percent."""
        ratio = self.error_ratio
        return None if ratio is None else (1.0 - ratio) * 100.0

    @property
    def budget_remaining(self) -> float | None:
        """Share of the error budget left (1 = untouched, 0 = spent, < 0 = overspent)."""
        ratio = self.error_ratio
        return None if ratio is None else 1.0 - ratio / self.slo.error_budget

    @property
    def budget_events_left(self) -> float | None:
        """How many more bad events the window may hold at the current traffic."""
        if self.events_total is None or self.events_bad is None:
            return None
        return self.events_total * self.slo.error_budget - self.events_bad

    @property
    def compliance(self) -> Compliance:
        remaining = self.budget_remaining
        if remaining is None:
            return Compliance.NO_DATA
        if remaining < 0:
            return Compliance.BREACHED
        if remaining < 0.25:
            return Compliance.AT_RISK
        return Compliance.MET

    def to_dict(self) -> dict[str, Any]:
        slo = self.slo
        return {
            "name": slo.name,
            "service": slo.service,
            "description": slo.description,
            "objective_percent": slo.objective,
            "window": w(self.window_seconds),
            "error_budget_ratio": slo.error_budget,
            "at": rfc3339(self.at),
            "events": {"total": self.events_total, "bad": self.events_bad},
            "sli_percent": self.sli,
            "error_budget_remaining_ratio": self.budget_remaining,
            "error_budget_events_left": self.budget_events_left,
            "compliance": self.compliance.value,
            "burn_rates": dict(self.burn_rates),
            "alerts": {k: v.value for k, v in self.alerts.items()},
            "labels": dict(slo.labels),
        }


def rule_alert_state(groups: Callable[[], Sequence[RuleGroup]]) -> AlertStateFunc:
    """The state of an SLO's page or ticket alert, from the rule manager's groups."""

    def state(slo: SLOConfig, severity: BurnSeverity) -> AlertState:
        cfg = slo.alerting.page if severity is BurnSeverity.PAGE else slo.alerting.ticket
        for group in groups():
            if group.name != group_name(slo) or group.file != "slos":
                continue
            for rule in group.rules:
                if isinstance(rule, AlertingRule) and rule.name == cfg.name:
                    return rule.state()
        return AlertState.INACTIVE

    return state


class SLOStatusReader:
    def __init__(
        self,
        *,
        query: QueryFunc,
        slos: Callable[[], Sequence[SLOConfig]],
        alert_state: AlertStateFunc | None = None,
    ) -> None:
        self._query = query
        self._slos = slos
        self._alert_state = alert_state

    def names(self) -> list[str]:
        return [s.name for s in self._slos()]

    def get(self, name: str) -> SLOConfig | None:
        return next((s for s in self._slos() if s.name == name), None)

    def all(self, at: float) -> list[SLOStatus]:
        """Every SLO's live status from its recorded series (one query)."""
        slos = list(self._slos())
        if not slos:
            return []
        try:
            samples = self._query(_RECORDED, at)
        except QueryError:
            samples = []
        values: dict[str, dict[str, float]] = {}
        for labels, value in samples:
            values.setdefault(labels.get("slo", ""), {})[labels.get(METRIC_NAME, "")] = value
        return [self._status(slo, values.get(slo.name, {}), at) for slo in slos]

    def one(self, name: str, at: float) -> SLOStatus | None:
        return next((s for s in self.all(at) if s.slo.name == name), None)

    def _status(self, slo: SLOConfig, rec: dict[str, float], at: float) -> SLOStatus:
        window = w(float(slo.window))
        budget = slo.error_budget
        burn: dict[str, float | None] = {}
        for seconds in (*BURN_WINDOWS_SHOWN, float(slo.window)):
            ratio = _finite(rec.get(RATIO + w(seconds)))
            burn[w(seconds)] = None if ratio is None else ratio / budget
        alerts: dict[str, AlertState] = {}
        if self._alert_state is not None:
            for severity in BurnSeverity:
                alerts[severity.value] = self._alert_state(slo, severity)
        return SLOStatus(
            slo=slo,
            at=at,
            window_seconds=float(slo.window),
            events_total=_finite(rec.get(TOTAL + window)),
            events_bad=_finite(rec.get(ERRORS + window)),
            burn_rates=burn,
            alerts=alerts,
        )

    def period(self, slo: SLOConfig, start: float, end: float) -> SLOStatus:
        """The SLO over ``[start, end)``, computed from the raw SLI (for reports)."""
        seconds = max(1.0, end - start)
        window = f"{int(seconds)}s"
        total_q, bad_q = sli_queries(slo, window)
        total = bad = None
        try:
            total_rows = self._query(total_q, end)
            bad_rows = self._query(bad_q, end)
        except QueryError:
            total_rows = bad_rows = []
        if total_rows:
            total = _finite(total_rows[0][1])
        if bad_rows:
            bad = _finite(bad_rows[0][1])
        return SLOStatus(
            slo=slo, at=end, window_seconds=seconds, events_total=total, events_bad=bad
        )
