"""Shared test helpers for alert management: a recording outbox that deduplicates like the
real one, and a shortcut for building alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.labels import Labels
from watchkeeper.notify.base import NotificationMessage


@dataclass
class RecordingOutbox:
    """Implements the Outbox protocol in memory; a (receiver, dedup key) pair is queued once."""

    messages: list[tuple[str, NotificationMessage]] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)

    def enqueue(self, receiver: str, message: NotificationMessage) -> int:
        if (receiver, message.dedup_key) in self.keys:
            return 0
        self.keys.add((receiver, message.dedup_key))
        self.messages.append((receiver, message))
        return 1

    def events(self, receiver: str | None = None) -> list[tuple[str, NotificationEvent, list[str]]]:
        """(receiver, event, sorted alertnames+status) for each queued message."""
        return [
            (r, m.event, sorted(f"{a.labels.get('alertname')}:{a.status.value}" for a in m.alerts))
            for r, m in self.messages
            if receiver is None or r == receiver
        ]

    def clear(self) -> None:
        self.messages.clear()


def alert(
    name: str,
    *,
    starts_at: float,
    ends_at: float | None = None,
    source: str = "api",
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> AlertInput:
    return AlertInput(
        labels=Labels({"alertname": name, **labels}),
        annotations=annotations or {},
        starts_at=starts_at,
        ends_at=ends_at,
        source=source,
    )
