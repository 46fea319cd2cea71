"""Incidents: the firing episodes of alerts, rebuilt from the alert history.

An incident opens at a ``firing`` event of an alert and closes at the next ``resolved``,
``expired`` or ``resolved_by_hand`` event of the same alert; its first acknowledgement in
between is its acknowledgement, and the ``flapping`` events in between are its flaps.
Alerts are matched across the rule side and alert management by their labels without the
external labels (alert management sees the external labels added, the rule side not).

An incident is identified by ``<fingerprint>-<fired_at in ms>``: stable, so an operator's
label (:mod:`.labels`) stays attached to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.history import AlertHistory, HistoryEntry, HistoryEvent
from watchkeeper.alerting.model import fingerprint
from watchkeeper.core.clock import rfc3339

PAGE_SIZE = 1000
MAX_PAGES = 500  # at most 500,000 history events per question: bounded in count and time
OPENING = frozenset({HistoryEvent.FIRING})
CLOSING = frozenset({HistoryEvent.RESOLVED, HistoryEvent.EXPIRED, HistoryEvent.RESOLVED_BY_HAND})
EVENTS = (*OPENING, *CLOSING, HistoryEvent.ACKNOWLEDGED, HistoryEvent.FLAPPING)


def incident_id(key: str, fired_at: float) -> str:
    return f"{key}-{round(fired_at * 1000)}"


@dataclass(slots=True)
class Incident:
    id: str
    key: str  # fingerprint of the labels without the external labels
    labels: dict[str, str]
    fired_at: float
    resolved_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    flaps: int = 0
    label: str | None = None  # an operator's verdict (quality.labels.Verdict value)
    labelled_by: str | None = None
    comment: str = ""

    @property
    def rule(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def service(self) -> str:
        return self.labels.get("service", "")

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def time_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return max(0.0, self.acknowledged_at - self.fired_at)

    @property
    def time_to_resolve(self) -> float | None:
        if self.resolved_at is None:
            return None
        return max(0.0, self.resolved_at - self.fired_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "service": self.service,
            "labels": dict(self.labels),
            "fired_at": rfc3339(self.fired_at),
            "resolved_at": rfc3339(self.resolved_at) if self.resolved_at else None,
            "acknowledged_at": rfc3339(self.acknowledged_at) if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "time_to_acknowledge_seconds": self.time_to_acknowledge,
            "time_to_resolve_seconds": self.time_to_resolve,
            "flaps": self.flaps,
            "label": self.label,
            "labelled_by": self.labelled_by,
            "comment": self.comment,
        }


def alert_key(labels: Mapping[str, str], external: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The labels without the external labels (where they carry the external value), and
    their fingerprint."""
    own = {k: v for k, v in labels.items() if external.get(k) != v}
    return fingerprint(own), own


def read_history(
    history: AlertHistory, since: float, until: float, *, max_pages: int = MAX_PAGES
) -> list[HistoryEntry]:
    """The events incidents are made of in ``[since, until)``, oldest first."""
    out: list[HistoryEntry] = []
    before: int | None = None
    for _ in range(max_pages):
        page = history.query(
            events=list(EVENTS), since=since, until=until, before_id=before, limit=PAGE_SIZE
        )
        out.extend(page)
        if len(page) < PAGE_SIZE:
            break
        before = min(e.id for e in page if e.id is not None)
    out.sort(key=lambda e: (e.at, e.id or 0))
    return out


@dataclass(slots=True)
class _Open:
    incident: Incident
    acks: list[HistoryEntry] = field(default_factory=list)


def build_incidents(
    entries: Iterable[HistoryEntry], external: Mapping[str, str] | None = None
) -> list[Incident]:
    """Incidents from history entries (oldest first), in the order they fired."""
    ext = dict(external or {})
    open_: dict[str, Incident] = {}
    done: list[Incident] = []
    for entry in entries:
        key, own = alert_key(entry.labels, ext)
        current = open_.get(key)
        if entry.event in OPENING:
            if current is None:
                open_[key] = Incident(
                    id=incident_id(key, entry.at), key=key, labels=own, fired_at=entry.at
                )
            continue
        if current is None:
            continue
        if entry.event in CLOSING:
            current.resolved_at = entry.at
            done.append(open_.pop(key))
        elif entry.event is HistoryEvent.ACKNOWLEDGED and current.acknowledged_at is None:
            current.acknowledged_at = entry.at
            current.acknowledged_by = entry.actor
        elif entry.event is HistoryEvent.FLAPPING:
            current.flaps += 1
    done.extend(open_.values())
    done.sort(key=lambda i: (i.fired_at, i.id))
    return done


def incidents_between(
    history: AlertHistory, since: float, until: float, external: Mapping[str, str] | None = None
) -> list[Incident]:
    """Incidents that fired in ``[since, until)``; one that had not resolved by ``until``
    stays open."""
    return [
        i
        for i in build_incidents(read_history(history, since, until), external)
        if since <= i.fired_at < until
    ]
