"""Alert quality per rule, from incidents and operators' labels.

For each rule (``alertname``) over a period:

* ``precision``: actionable / labelled incidents: the share of its alerts someone had to
  act on (what teams often call the alerts' accuracy);
* ``false_positive_rate``: noise / labelled incidents: the share of its alerts that were
  false (statisticians call this the false discovery rate; a false-positive rate in the
  strict sense needs the true negatives, which alerts never see);
* ``duplicate_rate``: duplicate / labelled incidents;
* ``mtta``: mean time from firing to the first acknowledgement, over acknowledged
  incidents; ``mttr``: mean time from firing to resolution, over resolved incidents;
* ``flapping``: how many times alert management marked one of its alerts as flapping.

Unlabelled incidents count in ``incidents`` but in none of the shares, so the shares say
how many incidents they rest on (``labelled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from watchkeeper.quality.incidents import Incident
from watchkeeper.quality.labels import Verdict


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(slots=True)
class RuleQuality:
    rule: str
    incidents: int = 0
    resolved: int = 0
    acknowledged: int = 0
    actionable: int = 0
    noise: int = 0
    duplicate: int = 0
    flapping: int = 0
    services: set[str] = field(default_factory=set)
    _tta: list[float] = field(default_factory=list)
    _ttr: list[float] = field(default_factory=list)

    @property
    def labelled(self) -> int:
        return self.actionable + self.noise + self.duplicate

    @property
    def unlabelled_resolved(self) -> int:
        return max(0, self.resolved - self.labelled)

    @property
    def precision(self) -> float | None:
        return _share(self.actionable, self.labelled)

    @property
    def false_positive_rate(self) -> float | None:
        return _share(self.noise, self.labelled)

    @property
    def duplicate_rate(self) -> float | None:
        return _share(self.duplicate, self.labelled)

    @property
    def mtta(self) -> float | None:
        return _mean(self._tta)

    @property
    def mttr(self) -> float | None:
        return _mean(self._ttr)

    def add(self, incident: Incident) -> None:
        self.incidents += 1
        if incident.service:
            self.services.add(incident.service)
        tta = incident.time_to_acknowledge
        if tta is not None:
            self.acknowledged += 1
            self._tta.append(tta)
        ttr = incident.time_to_resolve
        if ttr is not None:
            self.resolved += 1
            self._ttr.append(ttr)
        self.flapping += incident.flaps
        if incident.label == Verdict.ACTIONABLE:
            self.actionable += 1
        elif incident.label == Verdict.NOISE:
            self.noise += 1
        elif incident.label == Verdict.DUPLICATE:
            self.duplicate += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "services": sorted(self.services),
            "incidents": self.incidents,
            "resolved": self.resolved,
            "acknowledged": self.acknowledged,
            "labelled": self.labelled,
            "actionable": self.actionable,
            "noise": self.noise,
            "duplicate": self.duplicate,
            "precision": self.precision,
            "false_positive_rate": self.false_positive_rate,
            "duplicate_rate": self.duplicate_rate,
            "mtta_seconds": self.mtta,
            "mttr_seconds": self.mttr,
            "flapping": self.flapping,
        }


def rule_quality(incidents: Iterable[Incident]) -> list[RuleQuality]:
    """Quality per rule, noisiest first (most incidents, then most noise)."""
    by_rule: dict[str, RuleQuality] = {}
    for incident in incidents:
        rule = incident.rule or "(no alertname)"
        by_rule.setdefault(rule, RuleQuality(rule)).add(incident)
    return sorted(by_rule.values(), key=lambda q: (-q.incidents, -q.noise, q.rule))


def overall(incidents: Iterable[Incident]) -> RuleQuality:
    """Every rule together (the figure to hold against a target)."""
    total = RuleQuality("(all rules)")
    for incident in incidents:
        total.add(incident)
    return total
