"""``type: heartbeat`` check config."""

from __future__ import annotations

from typing import Literal

from croniter import croniter
from pydantic import Field, model_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration


class HeartbeatCheckConfig(CheckBase):
    type: Literal["heartbeat"] = "heartbeat"
    token: Secret = Field(
        description="the secret part of the ping URL /api/v1/heartbeat/<token> (16+ characters)"
    )
    period: Duration | None = Field(None, description="expected time between pings")
    schedule: str | None = Field(None, description="cron expression of the expected pings (UTC)")
    grace: Duration = Field(Duration(300), description="how late a ping may be")

    @model_validator(mode="after")
    def _check(self) -> HeartbeatCheckConfig:
        if (self.period is None) == (self.schedule is None):
            raise ValueError("give either period (e.g. 1h) or schedule (a cron expression)")
        if self.schedule is not None and not croniter.is_valid(self.schedule):
            raise ValueError(
                f"schedule {self.schedule!r} is not a valid cron expression, e.g. '0 3 * * *'"
            )
        if len(self.token.reveal()) < 16:
            raise ValueError(
                "token must have at least 16 characters; it is the only credential of the "
                "ping URL (e.g. `openssl rand -hex 16`)"
            )
        return self
