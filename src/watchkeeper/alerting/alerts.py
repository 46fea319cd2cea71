"""Alerts held by alert management, merged as Alertmanager merges them, and persisted so
that a restart neither forgets a firing alert nor resolves one early.

An alert is resolved once its ``ends_at`` has passed. A sender that gives no end time gets
``now + resolve_timeout`` (``timeout`` set), and must re-send before then to keep the alert
firing. Re-sends that only push ``ends_at`` forward are written lazily: the stored end time
is refreshed once less than half of the new horizon is left, so a crash loses at most half
of a horizon, never a firing alert.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.alerting.audit import OnWrite
from watchkeeper.alerting.model import AlertInput, fingerprint
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import AlertStatus
from watchkeeper.core.labels import Labels, is_valid_label_name
from watchkeeper.notify.base import AlertData
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_alerts

A = alerting_alerts


@dataclass(frozen=True, slots=True)
class Alert:
    labels: Labels
    annotations: Mapping[str, str]
    starts_at: float
    ends_at: float
    updated_at: float
    generator_url: str = ""
    source: str = "api"
    timeout: bool = False
    resolved_by: str | None = None
    fingerprint: str = field(default="", compare=False)
    label_map: Mapping[str, str] = field(
        default_factory=dict, compare=False, repr=False, init=False
    )

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.labels))
        # a plain dict of the labels: O(1) lookups for matchers
        object.__setattr__(self, "label_map", self.labels.to_dict())

    def resolved(self, now: float) -> bool:
        return self.ends_at <= now

    def status(self, now: float) -> AlertStatus:
        return AlertStatus.RESOLVED if self.resolved(now) else AlertStatus.FIRING

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    def same_content(self, other: Alert) -> bool:
        return (
            self.labels == other.labels
            and dict(self.annotations) == dict(other.annotations)
            and self.starts_at == other.starts_at
            and self.generator_url == other.generator_url
        )

    def merge(self, newer: Alert) -> Alert:
        """Alertmanager's ``Alert.Merge``: ``newer`` wins except for the earliest start
        and an explicit (non-timeout) later end."""
        if newer.updated_at < self.updated_at:
            return newer.merge(self)
        res = newer
        if self.starts_at < newer.starts_at:
            res = replace(res, starts_at=self.starts_at)
        if newer.ends_at <= newer.updated_at:  # newer is resolved
            if self.ends_at <= newer.updated_at and self.ends_at > newer.ends_at:
                res = replace(res, ends_at=self.ends_at)
        elif self.ends_at > newer.ends_at and not self.timeout:
            res = replace(res, ends_at=self.ends_at, timeout=False)
        return res

    def data(self, now: float, dashboard_url: str = "") -> AlertData:
        return AlertData(
            status=self.status(now),
            labels=self.labels.to_dict(),
            annotations=dict(self.annotations),
            starts_at=self.starts_at,
            ends_at=self.ends_at if self.resolved(now) else None,
            generator_url=self.generator_url,
            fingerprint=self.fingerprint,
            dashboard_url=dashboard_url,
        )

    def api_times(self) -> dict[str, str]:
        return {
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "updatedAt": rfc3339(self.updated_at),
        }


def from_input(
    inp: AlertInput, now: float, resolve_timeout: float, *, fingerprint: str = ""
) -> Alert:
    """Alertmanager's rules for a posted alert: a missing start is now (or the end), a
    missing end is ``now + resolve_timeout`` and marks the alert as timing out."""
    starts_at = inp.starts_at
    if starts_at <= 0:
        starts_at = inp.ends_at if inp.ends_at else now
    ends_at, timeout = inp.ends_at, False
    if not ends_at or ends_at <= 0:
        ends_at, timeout = now + resolve_timeout, True
    return Alert(
        labels=inp.labels,
        annotations=dict(inp.annotations),
        starts_at=starts_at,
        ends_at=ends_at,
        updated_at=now,
        generator_url=inp.generator_url,
        source=inp.source,
        timeout=timeout,
        fingerprint=fingerprint,
    )


def validate_input(inp: AlertInput) -> list[str]:
    """What is wrong with a posted alert (empty when it is fine)."""
    problems: list[str] = []
    if not inp.labels:
        problems.append("at least one label pair is required")
    for name in inp.labels:
        if not is_valid_label_name(name):
            problems.append(
                f"invalid label name {name!r}: use letters, digits and _, not starting with a digit"
            )
    for name in inp.annotations:
        if not is_valid_label_name(name):
            problems.append(f"invalid annotation name {name!r}")
    if inp.ends_at and inp.starts_at and inp.ends_at < inp.starts_at:
        problems.append("the start time must be before the end time")
    return problems


class Transition(StrEnum):
    NONE = "none"
    FIRING = "firing"  # a new alert, or one that fires again after it resolved
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: Alert
    previous: Alert | None
    transition: Transition

    @property
    def new_occurrence(self) -> bool:
        return self.transition is Transition.FIRING


class AlertStore:
    """The current alerts, in memory and in ``alerting_alerts``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._alerts: dict[str, Alert] = {}
        self._stored_ends: dict[str, float] = {}
        self._firing: set[str] = set()
        self._expiry: list[tuple[float, str]] = []
        self._fingerprints: dict[Labels, str] = {}
        self._unwritten: list[Alert] = []

    def __len__(self) -> int:
        return len(self._alerts)

    def __iter__(self) -> Iterator[Alert]:
        return iter(list(self._alerts.values()))

    def __contains__(self, fp: object) -> bool:
        return fp in self._alerts

    def get(self, fp: str) -> Alert | None:
        return self._alerts.get(fp)

    def fingerprint_of(self, labels: Labels) -> str:
        """The fingerprint of a label set, computed once per alert held."""
        fp = self._fingerprints.get(labels)
        if fp is None:
            fp = fingerprint(labels)
            if len(self._fingerprints) > 4 * len(self._alerts) + 1024:
                self._fingerprints.clear()
            self._fingerprints[labels] = fp
        return fp

    def load(self, now: float) -> list[Alert]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(A)).mappings().all()
        for r in rows:
            alert = Alert(
                labels=Labels(json.loads(r["labels"])),
                annotations=json.loads(r["annotations"]),
                starts_at=float(r["starts_at"]),
                ends_at=float(r["ends_at"]),
                updated_at=float(r["updated_at"]),
                generator_url=r["generator_url"],
                source=r["source"],
                timeout=bool(r["timeout"]),
                resolved_by=r["resolved_by"],
                fingerprint=r["fingerprint"],
            )
            self._alerts[alert.fingerprint] = alert
            self._stored_ends[alert.fingerprint] = alert.ends_at
            if not alert.resolved(now):
                self._firing.add(alert.fingerprint)
                heapq.heappush(self._expiry, (alert.ends_at, alert.fingerprint))
        return list(self._alerts.values())

    def ingest(
        self, alerts: Sequence[Alert], now: float, *, write: bool = True
    ) -> list[AlertChange]:
        """Merge posted alerts in; returns what changed. What must be stored is written now,
        or with :meth:`write_pending` when ``write`` is false."""
        changes: list[AlertChange] = []
        to_write: list[Alert] = []
        for new in alerts:
            fp = new.fingerprint
            old = self._alerts.get(fp)
            alert = new
            if old is not None and _overlaps(old, new):
                alert = old.merge(new)
            was_firing = fp in self._firing
            is_firing = not alert.resolved(now)
            if is_firing and not was_firing:
                transition = Transition.FIRING
            elif was_firing and not is_firing:
                transition = Transition.RESOLVED
            else:
                transition = Transition.NONE
            self._alerts[fp] = alert
            self._set_firing(alert, is_firing)
            if self._needs_write(old, alert, transition, now):
                to_write.append(alert)
            changes.append(AlertChange(alert, old, transition))
        self._unwritten.extend(to_write)
        if write:
            self.write_pending()
        return changes

    def write_pending(self, *, on_write: OnWrite[Sequence[Alert]] | None = None) -> None:
        """Store what :meth:`ingest` left unwritten; ``on_write`` runs in the same
        transaction (even when nothing needed writing) with the alerts written."""
        pending, self._unwritten = self._unwritten, []
        latest = {a.fingerprint: a for a in pending if self._alerts.get(a.fingerprint) is a}
        try:
            self._write(list(latest.values()), on_write)
        except BaseException:
            self._unwritten = pending + self._unwritten  # written with the next change
            raise

    def resolve(
        self,
        fp: str,
        now: float,
        actor: str | None = None,
        *,
        on_write: OnWrite[Alert] | None = None,
    ) -> AlertChange | None:
        """End an alert now (by hand, or by the API); ``on_write`` runs in the transaction
        storing it, with the resolved alert."""
        old = self._alerts.get(fp)
        if old is None:
            return None
        alert = replace(old, ends_at=now, updated_at=now, timeout=False, resolved_by=actor)
        was_firing = fp in self._firing
        step = None if on_write is None else _single(on_write, alert)
        self._write([alert], step)
        self._alerts[fp] = alert
        self._set_firing(alert, False)
        return AlertChange(alert, old, Transition.RESOLVED if was_firing else Transition.NONE)

    def expire(self, now: float) -> list[Alert]:
        """Alerts whose end time has passed since the last call (resolved by time)."""
        out: list[Alert] = []
        while self._expiry and self._expiry[0][0] <= now:
            ends_at, fp = heapq.heappop(self._expiry)
            alert = self._alerts.get(fp)
            if alert is None or fp not in self._firing or alert.ends_at != ends_at:
                continue
            self._firing.discard(fp)
            out.append(alert)
        return out

    def next_expiry(self) -> float | None:
        while self._expiry:
            ends_at, fp = self._expiry[0]
            alert = self._alerts.get(fp)
            if alert is not None and fp in self._firing and alert.ends_at == ends_at:
                return ends_at
            heapq.heappop(self._expiry)
        return None

    def is_firing(self, fp: str) -> bool:
        return fp in self._firing

    def remove(self, fps: Iterable[str]) -> None:
        gone = [fp for fp in fps if fp in self._alerts]
        for fp in gone:
            del self._alerts[fp]
            self._stored_ends.pop(fp, None)
            self._firing.discard(fp)
        if gone:
            with self.db.begin() as conn:
                conn.execute(A.delete().where(A.c.fingerprint.in_(gone)))

    def flush_pending(self, now: float) -> None:
        """Write every alert whose stored end time lags (before a clean shutdown)."""
        self._write(
            [a for a in self._alerts.values() if self._stored_ends.get(a.fingerprint) != a.ends_at]
        )

    # -- internals ----------------------------------------------------------------------

    def _set_firing(self, alert: Alert, firing: bool) -> None:
        if firing:
            self._firing.add(alert.fingerprint)
            heapq.heappush(self._expiry, (alert.ends_at, alert.fingerprint))
        else:
            self._firing.discard(alert.fingerprint)

    def _needs_write(
        self, old: Alert | None, alert: Alert, transition: Transition, now: float
    ) -> bool:
        if old is None or transition is not Transition.NONE or not old.same_content(alert):
            return True
        stored = self._stored_ends.get(alert.fingerprint)
        if stored is None or alert.ends_at < stored:
            return True
        if alert.ends_at == stored:
            return False
        return stored - now < (alert.ends_at - now) / 2

    def _write(
        self, alerts: Sequence[Alert], on_write: OnWrite[Sequence[Alert]] | None = None
    ) -> None:
        if not alerts and on_write is None:
            return
        rows = [
            {
                "fingerprint": a.fingerprint,
                "labels": json.dumps(a.labels.to_dict(), sort_keys=True),
                "annotations": json.dumps(dict(a.annotations), sort_keys=True),
                "starts_at": a.starts_at,
                "ends_at": a.ends_at,
                "updated_at": a.updated_at,
                "generator_url": a.generator_url,
                "source": a.source,
                "timeout": a.timeout,
                "resolved_by": a.resolved_by,
            }
            for a in alerts
        ]
        fps = [r["fingerprint"] for r in rows]
        with self.db.begin() as conn:
            if rows:
                conn.execute(A.delete().where(A.c.fingerprint.in_(fps)))
                conn.execute(A.insert(), rows)
            if on_write is not None:
                on_write(conn, alerts)
        for a in alerts:
            self._stored_ends[a.fingerprint] = a.ends_at


def _single(on_write: OnWrite[Alert], alert: Alert) -> OnWrite[Sequence[Alert]]:
    def step(conn: Connection, _written: Sequence[Alert]) -> None:
        on_write(conn, alert)

    return step


def _overlaps(old: Alert, new: Alert) -> bool:
    """Alertmanager merges a posted alert into the stored one only when their activity
    ranges overlap; otherwise the posted one is a new occurrence."""
    return (old.starts_at < new.ends_at < old.ends_at) or (
        old.starts_at < new.starts_at < old.ends_at
    )
