"""Delivery metrics on an injected prometheus_client registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.notify.records import AttemptOutcome, HealthStatus

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "watchkeeper_notification_attempts_total",
            "Notification delivery attempts, per channel.",
            ["channel"],
            registry=registry,
        )
        self.delivered = Counter(
            "watchkeeper_notifications_delivered_total",
            "Notifications delivered (or skipped as nothing to send), per channel.",
            ["channel"],
            registry=registry,
        )
        self.failures = Counter(
            "watchkeeper_notification_failures_total",
            "Failed delivery attempts, per channel and reason.",
            ["channel", "reason"],
            registry=registry,
        )
        self.failed = Counter(
            "watchkeeper_notifications_failed_total",
            "Notifications that ended failed (permanent failure or retries exhausted).",
            ["channel"],
            registry=registry,
        )
        self.latency = Histogram(
            "watchkeeper_notification_latency_seconds",
            "Duration of one delivery attempt, per channel.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "watchkeeper_notify_outbox_depth",
            "Deliveries in the outbox, by status (pending, sending).",
            ["status"],
            registry=registry,
        )
        self.healthy = Gauge(
            "watchkeeper_notify_integration_healthy",
            "1 when the last attempt of a receiver's channel integration succeeded.",
            ["receiver", "channel", "integration"],
            registry=registry,
        )

    def observe(
        self, channel: str, outcome: AttemptOutcome, reason: str | None, seconds: float
    ) -> None:
        self.attempts.labels(channel).inc()
        self.latency.labels(channel).observe(seconds)
        if outcome in (AttemptOutcome.DELIVERED, AttemptOutcome.SKIPPED):
            self.delivered.labels(channel).inc()
            return
        self.failures.labels(channel, reason or "other").inc()
        if outcome in (AttemptOutcome.FAILED, AttemptOutcome.GAVE_UP):
            self.failed.labels(channel).inc()

    def set_health(
        self, receiver: str, channel: str, integration: int, status: HealthStatus
    ) -> None:
        self.healthy.labels(receiver, channel, str(integration)).set(
            1.0 if status is HealthStatus.HEALTHY else 0.0
        )

    def set_depth(self, depth: dict[DeliveryStatus, int]) -> None:
        for status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            self.outbox_depth.labels(status.value).set(depth.get(status, 0))
