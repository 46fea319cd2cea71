"""What the query API shows for rules and alerts, and the providers that supply it.

The rule manager implements :class:`RulesProvider` and :class:`AlertsProvider`; the views
serialise to exactly the shapes of Prometheus' ``/api/v1/rules`` and ``/api/v1/alerts``
(times as RFC 3339, durations in seconds, alert values as strings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from watchkeeper.core.clock import rfc3339


class RuleType(StrEnum):
    ALERTING = "alerting"
    RECORDING = "recording"


class RuleHealthView(StrEnum):
    OK = "ok"
    ERR = "err"
    UNKNOWN = "unknown"


def format_alert_value(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'e', -1, 64)``, as Prometheus writes alert values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    d = Decimal(repr(float(value)))
    sign, digits, _ = d.as_tuple()
    text = "".join(str(x) for x in digits).rstrip("0") or "0"
    exponent = d.adjusted() if value != 0 else 0
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    exp_sign = "-" if exponent < 0 else "+"
    return f"{'-' if sign else ''}{mantissa}e{exp_sign}{abs(exponent):02d}"


def _time(ts: float | None) -> str:
    return rfc3339(ts)


@dataclass(frozen=True, slots=True)
class AlertView:
    """One pending or firing alert."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: str  # "pending" or "firing"
    active_at: float | None  # seconds since the epoch
    value: float
    keep_firing_since: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "state": str(self.state),
            "activeAt": _time(self.active_at),
            "value": format_alert_value(self.value),
        }
        if self.keep_firing_since is not None:
            out["keepFiringSince"] = _time(self.keep_firing_since)
        return out


@dataclass(frozen=True, slots=True)
class RuleView:
    """One alerting or recording rule and the state of its last evaluation."""

    name: str
    query: str
    type: RuleType
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    duration_s: float = 0.0  # alerting: `for`
    keep_firing_for_s: float = 0.0
    state: str = "inactive"  # alerting: the most severe state of its alerts
    alerts: Sequence[AlertView] = ()
    health: RuleHealthView = RuleHealthView.UNKNOWN
    last_error: str = ""
    evaluation_time_s: float = 0.0
    last_evaluation: float | None = None

    def to_json(self, *, with_alerts: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "query": self.query,
            "labels": dict(self.labels),
            "health": str(self.health),
            "evaluationTime": self.evaluation_time_s,
            "lastEvaluation": _time(self.last_evaluation),
            "type": str(self.type),
        }
        if self.last_error:
            out["lastError"] = self.last_error
        if self.type is RuleType.ALERTING:
            out.update(
                {
                    "state": self.state,
                    "duration": self.duration_s,
                    "keepFiringFor": self.keep_firing_for_s,
                    "annotations": dict(self.annotations),
                    "alerts": [a.to_json() for a in self.alerts] if with_alerts else [],
                }
            )
        return out


@dataclass(frozen=True, slots=True)
class RuleGroupView:
    name: str
    file: str
    interval_s: float
    rules: Sequence[RuleView] = ()
    limit: int = 0
    evaluation_time_s: float = 0.0
    last_evaluation: float | None = None

    def to_json(self, rules: Sequence[RuleView], *, with_alerts: bool = True) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "rules": [r.to_json(with_alerts=with_alerts) for r in rules],
            "interval": self.interval_s,
            "limit": self.limit,
            "evaluationTime": self.evaluation_time_s,
            "lastEvaluation": _time(self.last_evaluation),
        }


class RulesProvider(Protocol):
    """Supplies ``/api/v1/rules``: every loaded rule group, in file order."""

    def rule_groups(self) -> Sequence[RuleGroupView]: ...


class AlertsProvider(Protocol):
    """Supplies ``/api/v1/alerts``: every pending and firing alert."""

    def alerts(self) -> Sequence[AlertView]: ...


@dataclass(frozen=True, slots=True)
class MetricMetadata:
    type: str  # counter, gauge, histogram, summary, info, stateset, unknown
    help: str = ""
    unit: str = ""

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "help": self.help, "unit": self.unit}


class MetadataProvider(Protocol):
    """Supplies ``/api/v1/metadata``: TYPE/HELP/UNIT per metric name, as scraped."""

    def metadata(self) -> Mapping[str, Sequence[MetricMetadata]]: ...
