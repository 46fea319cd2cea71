"""What the outbox, the delivery log and the health store return: plain frozen records that
the API, the dashboard and readiness checks read."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.core.errors import DeliveryFailure


class AttemptOutcome(StrEnum):
    """What one attempt ended as (a delivery log row)."""

    DELIVERED = "delivered"
    SKIPPED = "skipped"  # the channel has nothing to send for this event
    RETRY = "retry"  # failed, will be retried
    FAILED = "failed"  # permanent failure
    GAVE_UP = "gave_up"  # retryable failure, but attempts or age are exhausted


class HealthStatus(StrEnum):
    UNKNOWN = "unknown"  # never attempted
    HEALTHY = "healthy"  # the last attempt succeeded
    DEGRADED = "degraded"  # retryable failures since the last success
    UNHEALTHY = "unhealthy"  # a permanent failure since the last success


def group_id(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()[:32]


def digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: a notification to one channel integration of a receiver."""

    id: int
    message_id: int
    receiver: str
    channel: str
    integration: int
    group_id: str
    dedup_key: str
    event: NotificationEvent
    status: DeliveryStatus
    attempts: int
    created_at: float
    updated_at: float
    next_attempt_at: float
    finished_at: float | None
    last_reason: DeliveryFailure | None
    last_error: str | None
    last_status_code: int | None
    response_summary: str | None
    is_test: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, as the delivery log keeps it."""

    id: int
    delivery_id: int
    receiver: str
    channel: str
    integration: int
    event: NotificationEvent
    dedup_key: str
    group_id: str
    payload_digest: str
    attempt: int
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: float
    reason: DeliveryFailure | None
    error: str | None
    response: str | None
    retry_at: float | None
    is_test: bool
    worker: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    receiver: str
    channel: str
    integration: int
    status: HealthStatus
    consecutive_failures: int = 0
    last_attempt_at: float | None = None
    last_success_at: float | None = None
    last_failure_at: float | None = None
    last_reason: DeliveryFailure | None = None
    last_error: str | None = None
    last_status_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of newest-first results; pass ``next_before`` as ``before`` for the next."""

    items: list[T]
    next_before: int | None
