"""``notify`` section: how the outbox worker retries, limits and keeps deliveries."""

from __future__ import annotations

from pydantic import Field, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration


class RateLimit(StrictModel):
    """A token bucket per channel integration: ``rate`` sends per second, ``burst`` at once."""

    rate: float = Field(gt=0, description="sustained sends per second")
    burst: int = Field(1, ge=1, description="sends allowed at once after a quiet spell")


# What each service documents (or tolerates) per webhook / bot / chat / number.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "slack": RateLimit(rate=1.0, burst=10),
    "discord": RateLimit(rate=2.5, burst=5),
    "telegram": RateLimit(rate=1.0, burst=20),
    "sms": RateLimit(rate=1.0, burst=10),
    "msteams": RateLimit(rate=4.0, burst=10),
    "msteamsv2": RateLimit(rate=4.0, burst=10),
    "pagerduty": RateLimit(rate=2.0, burst=60),
    "opsgenie": RateLimit(rate=5.0, burst=50),
}

DEFAULT_CONCURRENCY: dict[str, int] = {"apprise": 1, "email": 4}


class NotifySettings(StrictModel):
    backoff_initial: Duration = Field(Duration(0.2), description="first retry delay")
    backoff_max: Duration = Field(Duration(300), description="longest retry delay")
    backoff_multiplier: float = Field(2.0, ge=1.0)
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="± fraction of random spread")
    max_retry_after: Duration = Field(
        Duration(3600), description="longest Retry-After honoured from a receiver"
    )
    max_attempts: int = Field(100, ge=1, description="give up after this many attempts")
    max_age: Duration = Field(
        Duration(6 * 3600), description="give up retrying a notification older than this"
    )
    send_timeout: Duration = Field(
        Duration(60), description="hard bound on one send, whatever the channel's timeout"
    )
    lease: Duration = Field(
        Duration(120), description="a claimed delivery whose worker died is retaken after this"
    )
    poll_interval: Duration = Field(
        Duration(1), description="how often to look for due deliveries without a wake-up"
    )
    batch_size: int = Field(64, ge=1, le=1000)
    max_in_flight: int = Field(64, ge=1, description="sends in flight, all channels")
    concurrency: dict[str, int] = Field(
        default_factory=dict,
        description="sends in flight per channel type (default 16; apprise 1, email 4)",
    )
    rate_limits: dict[str, RateLimit | None] = Field(
        default_factory=dict,
        description="per channel type, applied to each integration, over the defaults; "
        "null = unlimited",
    )
    retention: Duration = Field(
        Duration(30 * 86400), description="finished deliveries and the log are kept this long"
    )

    @model_validator(mode="after")
    def _lease_covers_send(self) -> NotifySettings:
        if self.lease <= self.send_timeout:
            raise ValueError(
                f"lease ({self.lease:g}s) must be longer than send_timeout "
                f"({self.send_timeout:g}s), or a slow send would be taken over and sent twice"
            )
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be shorter than backoff_initial")
        return self

    def concurrency_for(self, channel: str) -> int:
        return max(1, self.concurrency.get(channel, DEFAULT_CONCURRENCY.get(channel, 16)))

    def rate_limit_for(self, channel: str) -> RateLimit | None:
        if channel in self.rate_limits:
            return self.rate_limits[channel]
        return DEFAULT_RATE_LIMITS.get(channel)
