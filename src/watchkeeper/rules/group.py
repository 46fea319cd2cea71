"""A rule group: rules evaluated in order at one interval, with their health."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import StrEnum

from watchkeeper.core.labels import Labels
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.loader import LoadedGroup
from watchkeeper.rules.recording_rule import RecordingRule

Rule = AlertingRule | RecordingRule
INTERNAL_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


class RuleHealth(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    ERROR = "err"


@dataclass(slots=True)
class RuleStatus:
    health: RuleHealth = RuleHealth.UNKNOWN
    last_error: str = ""
    last_evaluation: float | None = None
    evaluation_seconds: float = 0.0
    series: set[Labels] = field(default_factory=set)  # what the rule wrote last time


@dataclass(slots=True)
class RuleGroup:
    loaded: LoadedGroup
    interval: float
    rules: list[Rule]
    status: dict[int, RuleStatus] = field(default_factory=dict)
    triggers: frozenset[str] | None = frozenset()  # None = any metric may change the result
    last_evaluation: float | None = None
    evaluation_seconds: float = 0.0

    @property
    def key(self) -> str:
        return self.loaded.key

    @property
    def name(self) -> str:
        return self.loaded.config.name

    @property
    def file(self) -> str:
        return self.loaded.file

    def offset(self) -> float:
        """A stable phase within the interval, so groups do not all evaluate at once."""
        return (zlib.crc32(self.key.encode()) % 10_000) / 10_000 * self.interval

    def rule_status(self, index: int) -> RuleStatus:
        status = self.status.get(index)
        if status is None:
            status = self.status[index] = RuleStatus()
        return status

    def recorded_names(self) -> set[str]:
        return {r.name for r in self.rules if isinstance(r, RecordingRule)}
