"""Acknowledgements of alert groups: who, when, why, and until when. An acknowledged
group gets no repeat notifications and no escalation; when the acknowledgement expires
while the group still fires, escalation starts over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from watchkeeper.alerting.audit import OnWrite
from watchkeeper.core.clock import rfc3339
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_acks

K = alerting_acks


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    group_id: str
    group_key: str
    by: str
    at: float
    expires_at: float | None = None
    comment: str = ""

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "group_key": self.group_key,
            "acknowledged_by": self.by,
            "acknowledged_at": rfc3339(self.at),
            "expires_at": rfc3339(self.expires_at) if self.expires_at else None,
            "comment": self.comment,
        }


class Acknowledgements:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._acks: dict[str, Acknowledgement] = {}

    def load(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(K)).mappings().all()
        self._acks = {
            r["group_id"]: Acknowledgement(
                group_id=r["group_id"],
                group_key=r["group_key"],
                by=r["acknowledged_by"],
                at=float(r["acknowledged_at"]),
                expires_at=float(r["expires_at"]) if r["expires_at"] is not None else None,
                comment=r["comment"],
            )
            for r in rows
        }

    def get(self, group_id: str, now: float) -> Acknowledgement | None:
        ack = self._acks.get(group_id)
        return ack if ack is not None and ack.active(now) else None

    def all(self) -> list[Acknowledgement]:
        return list(self._acks.values())

    def stored(self, group_id: str) -> Acknowledgement | None:
        """The group's acknowledgement as stored, whether or not it has run out."""
        return self._acks.get(group_id)

    def put(
        self, ack: Acknowledgement, *, on_write: OnWrite[Acknowledgement] | None = None
    ) -> None:
        """Store ``ack`` (replacing the group's earlier one); ``on_write`` runs in the same
        transaction."""
        with self.db.begin() as conn:
            conn.execute(K.delete().where(K.c.group_id == ack.group_id))
            conn.execute(
                K.insert().values(
                    group_id=ack.group_id,
                    group_key=ack.group_key,
                    acknowledged_by=ack.by,
                    acknowledged_at=ack.at,
                    expires_at=ack.expires_at,
                    comment=ack.comment,
                )
            )
            if on_write is not None:
                on_write(conn, ack)
        self._acks[ack.group_id] = ack

    def remove(
        self, group_id: str, *, on_write: OnWrite[Acknowledgement] | None = None
    ) -> Acknowledgement | None:
        """Withdraw the group's acknowledgement; ``on_write`` runs in the same transaction
        with the one removed. ``None`` when the group had none."""
        ack = self._acks.get(group_id)
        if ack is not None:
            with self.db.begin() as conn:
                conn.execute(K.delete().where(K.c.group_id == group_id))
                if on_write is not None:
                    on_write(conn, ack)
            self._acks.pop(group_id, None)
        return ack

    def take_expired(self, now: float) -> list[Acknowledgement]:
        """Remove and return the acknowledgements that have run out."""
        done = [a for a in self._acks.values() if not a.active(now)]
        for ack in done:
            self.remove(ack.group_id)
        return done

    def next_expiry(self) -> float | None:
        return min((a.expires_at for a in self._acks.values() if a.expires_at), default=None)
