"""Simple on-call rotations: members take turns, handing off daily or weekly at the time of
day the rotation started (in its time zone, so hand-offs keep their wall-clock time across
daylight saving changes); overrides put someone else on call for a while.

A rotation's name is usable as a receiver: notifications to it go to the receiver of
whoever is on call at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from watchkeeper.alerting.audit import OnWrite
from watchkeeper.alerting.config_ext import Handoff, OnCallRotationConfig
from watchkeeper.alerting.timeintervals import load_zone
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_oncall_overrides

OV = alerting_oncall_overrides


@dataclass(frozen=True, slots=True)
class Override:
    id: str
    rotation: str
    receiver: str
    starts_at: float
    ends_at: float
    created_by: str = "config"
    comment: str = ""

    def covers(self, ts: float) -> bool:
        return self.starts_at <= ts < self.ends_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rotation": self.rotation,
            "receiver": self.receiver,
            "starts_at": rfc3339(self.starts_at),
            "ends_at": rfc3339(self.ends_at),
            "created_by": self.created_by,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class Shift:
    receiver: str
    starts_at: float
    ends_at: float
    override: Override | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "starts_at": rfc3339(self.starts_at),
            "ends_at": rfc3339(self.ends_at),
            "override": self.override.id if self.override else None,
        }


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


class Rotation:
    def __init__(self, config: OnCallRotationConfig) -> None:
        self.config = config
        self.name = config.name
        self.zone = load_zone(config.location)
        self.anchor = _aware(config.start, self.zone)
        self.period_days = 1 if config.handoff is Handoff.DAILY else 7
        self.config_overrides = tuple(
            Override(
                id=f"config:{config.name}:{i}",
                rotation=config.name,
                receiver=o.receiver,
                starts_at=_aware(o.start, self.zone).timestamp(),
                ends_at=_aware(o.end, self.zone).timestamp(),
                comment="from config",
            )
            for i, o in enumerate(config.overrides)
        )

    def _shift_index(self, ts: float) -> int:
        local = datetime.fromtimestamp(ts, tz=self.zone)
        days = (local.date() - self.anchor.date()).days
        if local.time() < self.anchor.time():
            days -= 1
        return days // self.period_days

    def _shift_start(self, index: int) -> float:
        day = self.anchor.date() + timedelta(days=index * self.period_days)
        t = self.anchor.time()
        return datetime(
            day.year, day.month, day.day, t.hour, t.minute, t.second, tzinfo=self.zone
        ).timestamp()

    def scheduled(self, ts: float) -> Shift:
        """Who the schedule puts on call at ``ts`` (overrides aside)."""
        index = self._shift_index(ts)
        members = self.config.members
        return Shift(
            receiver=members[index % len(members)],
            starts_at=self._shift_start(index),
            ends_at=self._shift_start(index + 1),
        )


class OnCall:
    """Every rotation plus the overrides made through the API (persisted)."""

    def __init__(self, db: Database, rotations: Iterable[OnCallRotationConfig]) -> None:
        self.db = db
        self.rotations = {r.name: Rotation(r) for r in rotations}
        self._api_overrides: dict[str, Override] = {}

    def set_rotations(self, rotations: Iterable[OnCallRotationConfig]) -> None:
        self.rotations = {r.name: Rotation(r) for r in rotations}

    def load(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(OV)).mappings().all()
        self._api_overrides = {
            str(r["id"]): Override(
                id=str(r["id"]),
                rotation=r["rotation"],
                receiver=r["receiver"],
                starts_at=float(r["starts_at"]),
                ends_at=float(r["ends_at"]),
                created_by=r["created_by"],
                comment=r["comment"],
            )
            for r in rows
        }

    def is_rotation(self, name: str) -> bool:
        return name in self.rotations

    def rotation(self, name: str) -> Rotation:
        rot = self.rotations.get(name)
        if rot is None:
            known = ", ".join(sorted(self.rotations)) or "(none configured)"
            raise NotFoundError(f"unknown on-call rotation {name!r}; rotations: {known}")
        return rot

    def overrides(self, rotation: str) -> list[Override]:
        rot = self.rotation(rotation)
        api = [o for o in self._api_overrides.values() if o.rotation == rotation]
        return sorted([*rot.config_overrides, *api], key=lambda o: (o.starts_at, o.id))

    def on_call(self, rotation: str, ts: float) -> Shift:
        """Who is on call at ``ts``; the most recently created override wins."""
        shift = self.rotation(rotation).scheduled(ts)
        covering = [o for o in self.overrides(rotation) if o.covers(ts)]
        if covering:
            o = covering[-1]
            return Shift(o.receiver, o.starts_at, o.ends_at, o)
        return shift

    def schedule(self, rotation: str, start: float, shifts: int = 8) -> list[Shift]:
        rot = self.rotation(rotation)
        out: list[Shift] = []
        ts = start
        for _ in range(max(1, min(shifts, 100))):
            shift = rot.scheduled(ts)
            out.append(shift)
            ts = shift.ends_at
        return out

    def resolve(self, receiver: str, ts: float) -> tuple[str, dict[str, str]]:
        """The receiver that gets a notification addressed to ``receiver`` at ``ts``."""
        if receiver not in self.rotations:
            return receiver, {}
        shift = self.on_call(receiver, ts)
        return shift.receiver, {"oncall_rotation": receiver, "oncall_receiver": shift.receiver}

    def add_override(
        self,
        rotation: str,
        receiver: str,
        starts_at: float,
        ends_at: float,
        *,
        created_by: str,
        comment: str = "",
        now: float,
        known_receivers: Iterable[str],
        on_write: OnWrite[Override] | None = None,
    ) -> Override:
        """A new override; ``on_write`` runs in the transaction storing it."""
        self.rotation(rotation)
        if receiver not in set(known_receivers):
            raise UserInputError(
                f"unknown receiver {receiver!r}; an override names a configured receiver"
            )
        if ends_at <= starts_at:
            raise UserInputError("an override's end must be after its start")
        if ends_at <= now:
            raise UserInputError("the override ends in the past")
        with self.db.begin() as conn:
            new_id = conn.execute(
                OV.insert()
                .values(
                    rotation=rotation,
                    receiver=receiver,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    created_by=created_by,
                    comment=comment,
                    created_at=now,
                )
                .returning(OV.c.id)
            ).scalar_one()
            override = Override(
                str(new_id), rotation, receiver, starts_at, ends_at, created_by, comment
            )
            if on_write is not None:
                on_write(conn, override)
        self._api_overrides[override.id] = override
        return override

    def remove_override(
        self, rotation: str, override_id: str, *, on_write: OnWrite[Override] | None = None
    ) -> Override:
        """Remove an override made through the API; ``on_write`` runs in the same
        transaction."""
        found = self._api_overrides.get(override_id)
        if found is None or found.rotation != rotation:
            raise NotFoundError(
                f"override {override_id} of rotation {rotation!r} not found (overrides from "
                "the config file are changed there)"
            )
        with self.db.begin() as conn:
            conn.execute(OV.delete().where(OV.c.id == int(override_id)))
            if on_write is not None:
                on_write(conn, found)
        del self._api_overrides[override_id]
        return found
