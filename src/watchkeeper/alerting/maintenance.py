"""Maintenance windows: alerts matching a window's matchers are muted while it is active
(still tracked and shown). A window is one-off (start and end), recurring by cron (each
occurrence lasts ``duration``) or recurring by Alertmanager time intervals. Windows come
from the config or the API; when one starts and when it ends, its receivers are told.

Which start and end have been announced is persisted per window, so a restart announces
nothing twice and nothing is missed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from croniter import croniter

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.audit import OnWrite
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.matchers import matchers_string, parse_matcher_lines
from watchkeeper.alerting.timeintervals import TimeIntervalSet, load_zone
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.core.labels import Matcher, matches_all
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_maintenance_windows

W = alerting_maintenance_windows


class WindowSource(StrEnum):
    CONFIG = "config"
    API = "api"


class Announcement(StrEnum):
    STARTED = "started"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    id: str
    config: MaintenanceWindowConfig
    source: WindowSource
    created_by: str = "config"
    created_at: float = 0.0
    matchers: tuple[Matcher, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.matchers:
            object.__setattr__(self, "matchers", tuple(parse_matcher_lines(self.config.matchers)))

    @property
    def name(self) -> str:
        return self.config.name

    def occurrence(
        self, ts: float, intervals: Mapping[str, TimeIntervalSet]
    ) -> tuple[float, float | None] | None:
        """(start, end) of the occurrence active at ``ts``, or ``None``. The end is
        ``None`` where it is not known in advance."""
        cfg = self.config
        zone = load_zone(cfg.location)
        if cfg.starts_at is not None and cfg.ends_at is not None:
            start, end = _ts(cfg.starts_at, zone), _ts(cfg.ends_at, zone)
            return (start, end) if start <= ts < end else None
        if cfg.cron is not None and cfg.duration is not None:
            local = datetime.fromtimestamp(ts + 1, tz=zone)
            prev = croniter(cfg.cron, local).get_prev(datetime).timestamp()
            end = prev + float(cfg.duration)
            return (prev, end) if prev <= ts < end else None
        sets = [intervals[n] for n in cfg.time_intervals if n in intervals]
        active = [s for s in sets if s.contains(ts)]
        if not active:
            return None
        starts = [s.prev_change(ts) for s in active]
        start = max((s for s in starts if s is not None), default=ts)
        return start, None

    def next_change(self, ts: float, intervals: Mapping[str, TimeIntervalSet]) -> float | None:
        cfg = self.config
        zone = load_zone(cfg.location)
        current = self.occurrence(ts, intervals)
        if cfg.starts_at is not None and cfg.ends_at is not None:
            start, end = _ts(cfg.starts_at, zone), _ts(cfg.ends_at, zone)
            return next((t for t in (start, end) if t > ts), None)
        if cfg.cron is not None:
            if current is not None and current[1] is not None:
                return current[1]
            local = datetime.fromtimestamp(ts, tz=zone)
            return float(croniter(cfg.cron, local).get_next(datetime).timestamp())
        changes = [
            c
            for n in cfg.time_intervals
            if n in intervals and (c := intervals[n].next_change(ts)) is not None
        ]
        return min(changes, default=None)

    def matches(self, alert: Alert) -> bool:
        return matches_all(self.matchers, alert.label_map)

    def record(self) -> dict[str, Any]:
        """What the window is, independent of the time it is read (for audit digests)."""
        return {
            "id": self.id,
            "source": self.source.value,
            "created_by": self.created_by,
            "spec": self.config.model_dump(mode="json", by_alias=True),
        }

    def to_dict(self, now: float, intervals: Mapping[str, TimeIntervalSet]) -> dict[str, Any]:
        cfg = self.config
        occ = self.occurrence(now, intervals)
        if cfg.starts_at is not None:
            kind = "one_off"
        elif cfg.cron is not None:
            kind = "cron"
        else:
            kind = "time_intervals"
        return {
            "id": self.id,
            "name": cfg.name,
            "source": self.source.value,
            "kind": kind,
            "matchers": list(cfg.matchers),
            "starts_at": cfg.starts_at.isoformat() if cfg.starts_at else None,
            "ends_at": cfg.ends_at.isoformat() if cfg.ends_at else None,
            "cron": cfg.cron,
            "duration": float(cfg.duration) if cfg.duration is not None else None,
            "time_intervals": list(cfg.time_intervals),
            "location": cfg.location,
            "notify": cfg.notify,
            "comment": cfg.comment,
            "created_by": self.created_by,
            "active": occ is not None,
            "current_occurrence": None
            if occ is None
            else {"starts_at": rfc3339(occ[0]), "ends_at": rfc3339(occ[1]) if occ[1] else None},
            "next_change": rfc3339(nc) if (nc := self.next_change(now, intervals)) else None,
        }


def _ts(value: datetime, zone: Any) -> float:
    return (value.replace(tzinfo=zone) if value.tzinfo is None else value).timestamp()


@dataclass(frozen=True, slots=True)
class Transition:
    window: MaintenanceWindow
    announcement: Announcement
    occurrence_start: float
    at: float


class MaintenanceWindows:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._windows: dict[str, MaintenanceWindow] = {}
        self._announced: dict[str, tuple[float | None, float | None]] = {}
        self.intervals: Mapping[str, TimeIntervalSet] = {}

    def load(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(W)).mappings().all()
        for r in rows:
            self._announced[r["id"]] = (r["started_occurrence"], r["ended_occurrence"])
            if r["source"] == WindowSource.API.value and r["deleted_at"] is None:
                self._windows[r["id"]] = MaintenanceWindow(
                    id=r["id"],
                    config=MaintenanceWindowConfig.model_validate(json.loads(r["spec"])),
                    source=WindowSource.API,
                    created_by=r["created_by"],
                    created_at=float(r["created_at"]),
                )

    def set_config(
        self,
        configs: Iterable[MaintenanceWindowConfig],
        intervals: Mapping[str, TimeIntervalSet],
        now: float,
    ) -> list[MaintenanceWindow]:
        """Replace the windows from the config; returns the removed ones."""
        self.intervals = intervals
        fresh = {
            f"config:{c.name}": MaintenanceWindow(f"config:{c.name}", c, WindowSource.CONFIG)
            for c in configs
        }
        removed = [
            w
            for wid, w in self._windows.items()
            if w.source is WindowSource.CONFIG and wid not in fresh
        ]
        for w in removed:
            del self._windows[w.id]
        for w in fresh.values():
            self._windows[w.id] = w
            self._save(w, now)
        return removed

    def all(self) -> list[MaintenanceWindow]:
        return sorted(self._windows.values(), key=lambda w: (w.source.value, w.name, w.id))

    def get(self, window_id: str) -> MaintenanceWindow:
        found = self._windows.get(window_id)
        if found is None:
            raise NotFoundError(f"maintenance window {window_id} not found")
        return found

    def create(
        self,
        config: MaintenanceWindowConfig,
        *,
        created_by: str,
        now: float,
        on_write: OnWrite[MaintenanceWindow] | None = None,
    ) -> MaintenanceWindow:
        """A new window from the API; ``on_write`` runs in the transaction storing it."""
        zone = load_zone(config.location)
        if config.ends_at is not None and _ts(config.ends_at, zone) <= now:
            raise UserInputError("the window ends in the past; give an ends_at in the future")
        missing = [n for n in config.time_intervals if n not in self.intervals]
        if missing:
            known = ", ".join(sorted(self.intervals)) or "(none defined)"
            raise UserInputError(
                f"unknown time interval {missing[0]!r}; define it under alerting.time_intervals "
                f"or use one of: {known}"
            )
        window = MaintenanceWindow(
            id=str(uuid.uuid4()),
            config=config,
            source=WindowSource.API,
            created_by=created_by,
            created_at=now,
        )
        self._save(window, now, on_write)
        self._windows[window.id] = window
        return window

    def delete(
        self, window_id: str, now: float, *, on_write: OnWrite[MaintenanceWindow] | None = None
    ) -> MaintenanceWindow:
        """Delete a window made through the API; ``on_write`` runs in the same transaction."""
        window = self.get(window_id)
        if window.source is WindowSource.CONFIG:
            raise UserInputError(
                f"maintenance window {window.name!r} comes from the config file; remove it there"
            )
        with self.db.begin() as conn:
            conn.execute(W.update().where(W.c.id == window_id).values(deleted_at=now))
            if on_write is not None:
                on_write(conn, window)
        del self._windows[window_id]
        return window

    def active(self, now: float) -> list[MaintenanceWindow]:
        return [w for w in self._windows.values() if w.occurrence(now, self.intervals)]

    def muting(self, alert: Alert, now: float) -> list[str]:
        return sorted(w.id for w in self.active(now) if w.matches(alert))

    def next_change(self, now: float) -> float | None:
        changes = [c for w in self._windows.values() if (c := w.next_change(now, self.intervals))]
        return min(changes, default=None)

    def pending_announcements(
        self, now: float, removed: Sequence[MaintenanceWindow] = ()
    ) -> list[Transition]:
        """What should have been announced by ``now`` and was not yet."""
        out: list[Transition] = []
        for window in [*self._windows.values(), *removed]:
            gone = window.id not in self._windows
            started, ended = self._announced.get(window.id, (None, None))
            occ = None if gone else window.occurrence(now, self.intervals)
            if started is not None and ended != started and (occ is None or occ[0] != started):
                out.append(Transition(window, Announcement.ENDED, started, now))
            if occ is not None and occ[0] != started:
                out.append(Transition(window, Announcement.STARTED, occ[0], now))
        return out

    def mark(self, transition: Transition) -> None:
        started, ended = self._announced.get(transition.window.id, (None, None))
        if transition.announcement is Announcement.STARTED:
            started = transition.occurrence_start
        else:
            ended = transition.occurrence_start
        self._announced[transition.window.id] = (started, ended)
        with self.db.begin() as conn:
            conn.execute(
                W.update()
                .where(W.c.id == transition.window.id)
                .values(started_occurrence=started, ended_occurrence=ended)
            )

    def describe(self, window: MaintenanceWindow) -> str:
        return matchers_string(window.matchers)

    def _save(
        self,
        window: MaintenanceWindow,
        now: float,
        on_write: OnWrite[MaintenanceWindow] | None = None,
    ) -> None:
        spec = window.config.model_dump(mode="json", by_alias=True)
        with self.db.begin() as conn:
            exists = conn.execute(sa.select(W.c.id).where(W.c.id == window.id)).first()
            values = {
                "name": window.name,
                "source": window.source.value,
                "spec": json.dumps(spec, sort_keys=True),
                "created_by": window.created_by,
                "deleted_at": None,
            }
            if exists:
                conn.execute(W.update().where(W.c.id == window.id).values(**values))
            else:
                conn.execute(W.insert().values(id=window.id, created_at=now, **values))
            if on_write is not None:
                on_write(conn, window)
