"""The notification contract.

A :class:`NotificationMessage` is Alertmanager's template data (``template.Data``) plus what
Watchkeeper adds (the event, a stable dedup key, acknowledgement and escalation). It is
what the alerting pipeline puts in the outbox and what every channel renders.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import AlertStatus, NotificationEvent


@dataclass(frozen=True, slots=True)
class AlertData:
    """One alert as templates see it (Alertmanager's ``template.Alert``)."""

    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None
    generator_url: str
    fingerprint: str
    dashboard_url: str = ""

    def webhook_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class NotificationMessage:
    receiver: str
    status: AlertStatus
    alerts: tuple[AlertData, ...]
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    group_key: str
    event: NotificationEvent
    dedup_key: str
    created_at: float
    truncated_alerts: int = 0
    is_test: bool = False
    escalation_level: int | None = None
    acknowledged_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def webhook_payload(self) -> dict[str, Any]:
        """The Alertmanager webhook payload, version 4."""
        return {
            "version": "4",
            "groupKey": self.group_key,
            "truncatedAlerts": self.truncated_alerts,
            "status": self.status.value,
            "receiver": self.receiver,
            "groupLabels": dict(self.group_labels),
            "commonLabels": dict(self.common_labels),
            "commonAnnotations": dict(self.common_annotations),
            "externalURL": self.external_url,
            "alerts": [a.webhook_dict() for a in self.alerts],
        }

    def to_json(self) -> str:
        # field by field rather than dataclasses.asdict (which deep-copies every value)
        raw = {f.name: getattr(self, f.name) for f in fields(self)}
        raw["alerts"] = [{f.name: getattr(a, f.name) for f in fields(a)} for a in self.alerts]
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NotificationMessage:
        raw = json.loads(text)
        raw["status"] = AlertStatus(raw["status"])
        raw["event"] = NotificationEvent(raw["event"])
        raw["alerts"] = tuple(
            AlertData(**{**a, "status": AlertStatus(a["status"])}) for a in raw["alerts"]
        )
        return cls(**raw)


def dedup_key(group_key: str, event: NotificationEvent, discriminator: str = "") -> str:
    """A stable key for one notification event of one alert group.

    ``discriminator`` separates events of the same kind (e.g. the alert's ``startsAt`` for a
    firing event, the escalation level, the repeat number)."""
    digest = hashlib.sha256(f"{group_key}\x00{event.value}\x00{discriminator}".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A successful delivery: what the receiver answered."""

    status_code: int | None
    summary: str  # short, for the delivery log ("200 OK", "250 queued as ...")
    remote_id: str | None = None  # e.g. Slack message ts, Opsgenie request id
    state: dict[str, Any] = field(default_factory=dict)  # kept per (receiver, group) for threads
    skipped: bool = False  # the channel had nothing to send for this event (not a failure)


class Notifier(Protocol):
    """One configured channel integration (e.g. one entry of ``slack_configs``).

    ``send`` returns a receipt or raises :class:`~watchkeeper.core.errors.DeliveryError`
    that says whether the failure is retryable. ``state`` is what earlier receipts for the
    same alert group left (message ids for threading and updates); a notifier may also update
    it in place as it makes progress (e.g. which SMS recipients were reached), and the
    outbox keeps that even when ``send`` then raises."""

    channel: ClassVar[str]
    send_resolved: bool

    async def send(
        self, message: NotificationMessage, state: dict[str, Any]
    ) -> DeliveryReceipt: ...


class Outbox(Protocol):
    """The durable queue every notification passes through.

    ``enqueue`` writes one row per channel integration of the receiver before returning
    (so a crash right after loses nothing) and ignores a message whose ``dedup_key`` was
    already enqueued for that receiver (so a restart never sends a second page for the
    same event)."""

    def enqueue(self, receiver: str, message: NotificationMessage) -> int:
        """Returns how many new deliveries were queued (0 for a duplicate)."""
        ...
