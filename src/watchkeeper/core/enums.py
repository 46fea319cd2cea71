"""States, severities and kinds shared across stages."""

from __future__ import annotations

from enum import StrEnum


class AlertState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertStatus(StrEnum):
    """Status as notifications and the Alertmanager API speak of it."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class CheckStatus(StrEnum):
    """The last outcome of a collector run on one target."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class NotificationEvent(StrEnum):
    """What a notification is about; part of its dedup key."""

    FIRING = "firing"
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    FLAPPING = "flapping"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_ENDED = "maintenance_ended"
    TEST = "test"
    REPORT = "report"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # in the outbox, not yet attempted or waiting for a retry
    SENDING = "sending"  # claimed by a worker
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent failure or retries exhausted
