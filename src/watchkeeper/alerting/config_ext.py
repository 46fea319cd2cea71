"""What Watchkeeper adds to Alertmanager's format inside the ``alerting`` section:
escalation policies, on-call rotations, maintenance windows, flapping, dependencies,
acknowledgement and retention. These keys may also sit beside ``config_file:`` so that the
referenced ``alertmanager.yml`` stays a plain Alertmanager file."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from croniter import croniter
from pydantic import AfterValidator, Field, field_validator, model_validator

from watchkeeper.alerting.matchers import MatcherError, parse_matcher_lines
from watchkeeper.alerting.timeintervals import load_zone
from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration

EXTENSION_KEYS = frozenset(
    {
        "escalation_policies",
        "oncall_rotations",
        "maintenance_windows",
        "flapping",
        "dependencies",
        "acknowledgement",
        "retention",
    }
)


def _matcher_line(value: str) -> str:
    try:
        parse_matcher_lines([value])
    except MatcherError as exc:
        raise ValueError(str(exc)) from None
    return value


MatcherLine = Annotated[str, AfterValidator(_matcher_line)]


class EscalationLevelConfig(StrictModel):
    receivers: list[str] = Field(min_length=1, description="who is notified at this level")
    after: Duration = Field(
        Duration(0),
        description="how long after the previous level (for the first level: after the "
        "first notification) this level is reached without an acknowledgement",
    )


class EscalationPolicyConfig(StrictModel):
    name: str = Field(min_length=1)
    levels: list[EscalationLevelConfig] = Field(min_length=1)
    repeat: int = Field(0, ge=0, description="how many more times the whole policy runs")
    repeat_after: Duration = Field(
        Duration(1800), description="wait after the last level before the policy starts over"
    )


class Handoff(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class OnCallOverrideConfig(StrictModel):
    receiver: str = Field(description="who is on call instead")
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> OnCallOverrideConfig:
        if self.end <= self.start:
            raise ValueError("an override's end must be after its start")
        return self


class OnCallRotationConfig(StrictModel):
    name: str = Field(min_length=1, description="use it as a receiver name in routes")
    members: list[str] = Field(min_length=1, description="receivers, in shift order")
    handoff: Handoff = Handoff.WEEKLY
    start: datetime = Field(description="when the first member's first shift begins")
    location: str = Field("UTC", description="time zone of start and of the hand-off time")
    overrides: list[OnCallOverrideConfig] = Field(default_factory=list)

    @field_validator("location")
    @classmethod
    def _zone(cls, value: str) -> str:
        load_zone(value)
        return value


class MaintenanceWindowConfig(StrictModel):
    """One-off (``starts_at``/``ends_at``), recurring by ``cron`` plus ``duration``, or
    recurring by named ``time_intervals``."""

    name: str = Field(min_length=1)
    matchers: list[MatcherLine] = Field(min_length=1, description="alerts muted during the window")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron: str | None = Field(None, description="when each occurrence starts (5-field cron)")
    duration: Duration | None = Field(None, description="length of each cron occurrence")
    time_intervals: list[str] = Field(default_factory=list)
    location: str = Field("UTC", description="time zone for cron and naive start/end times")
    notify: list[str] | None = Field(
        None, description="receivers told when it starts and ends (default: the root route's)"
    )
    comment: str = ""

    @field_validator("location")
    @classmethod
    def _zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(
                f"invalid cron expression {value!r}: use five fields, e.g. '0 3 * * SUN' "
                "for Sundays at 03:00"
            )
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> MaintenanceWindowConfig:
        one_off = self.starts_at is not None or self.ends_at is not None
        kinds = [one_off, self.cron is not None, bool(self.time_intervals)]
        if sum(kinds) != 1:
            raise ValueError(
                "give exactly one schedule: starts_at and ends_at (one-off), cron and "
                "duration (recurring), or time_intervals (recurring)"
            )
        if one_off:
            if self.starts_at is None or self.ends_at is None:
                raise ValueError("a one-off window needs both starts_at and ends_at")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
        if self.cron is not None and not self.duration:
            raise ValueError("a cron window needs a duration, e.g. duration: 2h")
        if self.cron is None and self.duration is not None:
            raise ValueError("duration only applies to a cron window")
        return self


class FlappingConfig(StrictModel):
    enabled: bool = True
    window: Duration = Field(Duration(900), description="how far back state changes count")
    threshold: int = Field(
        6, ge=2, description="state changes within the window that make an alert flapping"
    )
    settle: Duration | None = Field(
        None, description="quiet time after which a flapping alert settles (default: window)"
    )


class DependencyConfig(StrictModel):
    enabled: bool = True
    label: str = Field("service", description="the label that names an alert's service")
    source_matchers: list[MatcherLine] = Field(
        default_factory=list,
        description="which alerts of a needed service suppress its dependents (default: any)",
    )


class AcknowledgementConfig(StrictModel):
    default_expiry: Duration | None = Field(
        None, description="how long an acknowledgement lasts unless given (default: until resolved)"
    )


class RetentionConfig(StrictModel):
    history: Duration = Field(Duration(90 * 86400), description="alert history kept this long")
    silences: Duration = Field(Duration(5 * 86400), description="expired silences kept")
    notification_log: Duration = Field(
        Duration(5 * 86400), description="notification log entries of finished groups kept"
    )
