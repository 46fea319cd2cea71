"""The ``reports:`` section: the daily and weekly digests and the response-time targets.

reports:
  digests:
    daily:  {enabled: true, cron: "0 8 * * *", receivers: [team-email]}
    weekly: {enabled: true, cron: "0 8 * * MON"}
  targets:
    mtta: 15m     # default: how long escalation waits before its second level
    mttr: 4h      # default: none
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from croniter import croniter
from pydantic import Field, field_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration

if TYPE_CHECKING:
    from watchkeeper.config.model import WatchkeeperConfig


class DigestSchedule(StrictModel):
    enabled: bool = False
    cron: str = Field(description="when it is sent (5-field cron, UTC)")
    receivers: list[str] = Field(
        default_factory=list, description="who gets it (default: the root route's receiver)"
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(
                f"invalid cron expression {value!r}: use five fields, e.g. '0 8 * * *'"
            )
        return value


class DigestsConfig(StrictModel):
    daily: DigestSchedule = Field(
        default_factory=lambda: DigestSchedule(cron="0 8 * * *"),
        description="covers the 24 hours before it is sent",
    )
    weekly: DigestSchedule = Field(
        default_factory=lambda: DigestSchedule(cron="0 8 * * MON"),
        description="covers the 7 days before it is sent",
    )


class TargetsConfig(StrictModel):
    mtta: Duration | None = Field(
        None,
        description="mean time to acknowledge to aim for (default: the delay before the "
        "escalation policy's second level)",
    )
    mttr: Duration | None = Field(None, description="mean time to resolve to aim for")


class ReportsConfig(StrictModel):
    digests: DigestsConfig = Field(default_factory=DigestsConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    noisiest: int = Field(5, ge=1, le=50, description="how many noisiest rules a digest lists")


Problems = list[tuple[tuple[str | int, ...], str]]


def semantic_problems(cfg: WatchkeeperConfig) -> Problems:
    """Digest receivers exist."""
    known = [r.name for r in cfg.alerting.receivers]
    problems: Problems = []
    for kind in ("daily", "weekly"):
        schedule: DigestSchedule = getattr(cfg.reports.digests, kind)
        for i, name in enumerate(schedule.receivers):
            if name not in known:
                problems.append(
                    (
                        ("reports", "digests", kind, "receivers", i),
                        f"unknown receiver {name!r}; known receivers: {', '.join(known)}",
                    )
                )
    return problems
