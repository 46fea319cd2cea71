"""Alert history: every transition and event of every alert, kept in the state database
and served through the API.

The rule evaluator records rule-side transitions (pending, firing, resolved) with
:meth:`AlertHistory.record_transition`; alert management records the rest (received from
an external sender, expired, acknowledged, silenced, inhibited, suppressed by a dependency,
maintenance, escalated, notified, flapping).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from watchkeeper.alerting.model import fingerprint as label_fingerprint
from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import AlertState
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_history

H = alerting_history


class HistoryEvent(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    INACTIVE = "inactive"
    EXPIRED = "expired"  # not re-sent before its end time: resolved by alert management
    RESOLVED_BY_HAND = "resolved_by_hand"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    ACK_EXPIRED = "ack_expired"
    SILENCED = "silenced"
    UNSILENCED = "unsilenced"
    INHIBITED = "inhibited"
    UNINHIBITED = "uninhibited"
    SUPPRESSED = "suppressed"  # a service it depends on has a firing alert
    UNSUPPRESSED = "unsuppressed"
    MAINTENANCE = "maintenance"
    MAINTENANCE_ENDED = "maintenance_ended"
    ESCALATED = "escalated"
    NOTIFIED = "notified"
    FLAPPING = "flapping"
    FLAPPING_ENDED = "flapping_ended"


_STATE_EVENTS = {
    AlertState.PENDING: HistoryEvent.PENDING,
    AlertState.FIRING: HistoryEvent.FIRING,
    AlertState.RESOLVED: HistoryEvent.RESOLVED,
    AlertState.INACTIVE: HistoryEvent.INACTIVE,
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event: HistoryEvent
    at: float
    labels: Mapping[str, str]
    fingerprint: str | None = None
    group_id: str | None = None
    actor: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event.value,
            "at": self.at,
            "fingerprint": self.fingerprint,
            "group_id": self.group_id,
            "labels": dict(self.labels),
            "actor": self.actor,
            "detail": dict(self.detail),
        }


class AlertHistory:
    """The history store. Writes are synchronous: an event is on disk when the call
    returns."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._deferred: list[HistoryEntry] = []

    def record(
        self,
        event: HistoryEvent,
        *,
        labels: Mapping[str, str],
        fingerprint: str | None = None,
        group_id: str | None = None,
        at: float | None = None,
        actor: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.record_many(
            [
                HistoryEntry(
                    event=event,
                    at=self.clock.now() if at is None else at,
                    labels=labels,
                    fingerprint=fingerprint,
                    group_id=group_id,
                    actor=actor,
                    detail=detail or {},
                )
            ]
        )

    def record_transition(
        self,
        labels: Mapping[str, str],
        state: AlertState,
        *,
        at: float | None = None,
        value: float | None = None,
        source: str = "rule",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """A rule-side state change of one alert instance (inactive/pending/firing/resolved)."""
        extra: dict[str, Any] = {"source": source, **(detail or {})}
        if value is not None:
            extra["value"] = value
        self.record(
            _STATE_EVENTS[state],
            labels=labels,
            fingerprint=label_fingerprint(labels),
            at=at,
            detail=extra,
        )

    def record_many(self, entries: Iterable[HistoryEntry], *, deferred: bool = False) -> None:
        """Write entries now, or (``deferred``) with the next :meth:`flush`: alert
        management defers what group flushes record and writes it once per burst of
        timers, in one transaction."""
        if deferred:
            self._deferred.extend(entries)
            return
        self._write(list(entries))

    def flush(self) -> None:
        entries, self._deferred = self._deferred, []
        self._write(entries)

    def _write(self, entries: list[HistoryEntry]) -> None:
        rows = [
            {
                "at": e.at,
                "event": e.event.value,
                "fingerprint": e.fingerprint,
                "group_id": e.group_id,
                "labels": json.dumps(dict(e.labels), sort_keys=True),
                "actor": e.actor,
                "detail": json.dumps(dict(e.detail), sort_keys=True, default=str),
            }
            for e in entries
        ]
        if not rows:
            return
        with self.db.begin() as conn:
            conn.execute(H.insert(), rows)

    def query(
        self,
        *,
        fingerprint: str | None = None,
        group_id: str | None = None,
        events: Sequence[HistoryEvent] | None = None,
        since: float | None = None,
        until: float | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[HistoryEntry]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
        self.flush()
        q = sa.select(H).order_by(H.c.id.desc()).limit(max(1, min(limit, 1000)))
        if fingerprint is not None:
            q = q.where(H.c.fingerprint == fingerprint)
        if group_id is not None:
            q = q.where(H.c.group_id == group_id)
        if events:
            q = q.where(H.c.event.in_([e.value for e in events]))
        if since is not None:
            q = q.where(H.c.at >= since)
        if until is not None:
            q = q.where(H.c.at < until)
        if before_id is not None:
            q = q.where(H.c.id < before_id)
        with self.db.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            HistoryEntry(
                id=int(r["id"]),
                event=HistoryEvent(r["event"]),
                at=float(r["at"]),
                fingerprint=r["fingerprint"],
                group_id=r["group_id"],
                labels=json.loads(r["labels"]),
                actor=r["actor"],
                detail=json.loads(r["detail"]),
            )
            for r in rows
        ]

    def prune(self, older_than: float) -> int:
        with self.db.begin() as conn:
            result = conn.execute(H.delete().where(H.c.at < older_than))
        return int(result.rowcount or 0)
