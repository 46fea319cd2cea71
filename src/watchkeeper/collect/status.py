"""The per-target status the dashboard, the API and readiness read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from watchkeeper.collect.base import CollectFailure, Target
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import CheckStatus


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A snapshot; the scheduler replaces it after every run (never mutated in place)."""

    key: str
    service: str
    check: str
    kind: str
    job: str
    instance: str
    interval: float
    timeout: float
    status: CheckStatus = CheckStatus.UNKNOWN
    up: bool | None = None
    last_run: float | None = None  # epoch seconds when the last run started
    last_success: float | None = None
    duration: float | None = None  # seconds the last run took
    error: str | None = None
    reason: CollectFailure | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    samples: int = 0
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    skipped: int = 0  # runs not started because the previous one was still running
    next_run: float | None = None

    @classmethod
    def initial(cls, target: Target) -> TargetStatus:
        return cls(
            key=target.key,
            service=target.service,
            check=target.name,
            kind=target.kind,
            job=target.job,
            instance=target.instance,
            interval=target.interval,
            timeout=target.timeout,
        )

    @property
    def is_auth_error(self) -> bool:
        """The credentials are wrong or expired: a configuration error, not an outage."""
        return self.reason is CollectFailure.AUTH

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API."""
        return {
            "key": self.key,
            "service": self.service,
            "check": self.check,
            "kind": self.kind,
            "job": self.job,
            "instance": self.instance,
            "interval_seconds": self.interval,
            "timeout_seconds": self.timeout,
            "status": self.status.value,
            "up": self.up,
            "last_run": rfc3339(self.last_run) if self.last_run else None,
            "last_success": rfc3339(self.last_success) if self.last_success else None,
            "duration_seconds": self.duration,
            "error": self.error,
            "reason": self.reason.value if self.reason else None,
            "config_error": self.is_auth_error,
            "detail": self.detail,
            "samples": self.samples,
            "runs": self.runs,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "skipped": self.skipped,
            "next_run": rfc3339(self.next_run) if self.next_run else None,
        }
