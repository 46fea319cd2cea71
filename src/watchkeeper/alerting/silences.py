"""Silences, with Alertmanager's semantics: equality, regex and negative matchers, a start
and an end, who created it and why; updating an active silence in a way that would rewrite
history expires it and creates a new one. Watchkeeper adds a preview (which current alerts
a silence would mute) and refuses a silence that matches every alert unless forced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.audit import OnWrite
from watchkeeper.alerting.matchers import matcher_dict, matcher_from_parts, matchers_string
from watchkeeper.core.clock import MAX_TIMESTAMP, rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.core.labels import Matcher, matches_all
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_silences

S = alerting_silences


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float = 0.0
    updated_at: float = 0.0

    def state(self, now: float) -> SilenceState:
        if self.ends_at <= now:
            return SilenceState.EXPIRED
        if self.starts_at > now:
            return SilenceState.PENDING
        return SilenceState.ACTIVE

    def is_active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return matches_all(self.matchers, labels)

    def api_dict(self, now: float) -> dict[str, Any]:
        """Alertmanager's ``GettableSilence``."""
        return {
            "id": self.id,
            "status": {"state": self.state(now).value},
            "updatedAt": rfc3339(self.updated_at),
            "comment": self.comment,
            "createdBy": self.created_by,
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "matchers": [matcher_dict(m) for m in self.matchers],
        }

    def describe(self) -> str:
        return matchers_string(self.matchers)

    def record(self) -> dict[str, Any]:
        """What the silence is, independent of the time it is read (for audit digests)."""
        return {
            "id": self.id,
            "matchers": [matcher_dict(m) for m in self.matchers],
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        }


_PROBES = ("a", "0", "Z", "critical", "x y-z_1.2/3:4", "é", "A" * 64)


def matches_every_alert(matchers: Sequence[Matcher]) -> bool:
    """True when the matchers would mute any alert whatever its labels (every matcher
    accepts any value, an absent label included, or is on ``alertname``, which every alert
    has)."""
    for m in matchers:
        probes = (*_PROBES, m.value) if m.value else _PROBES
        if not all(m.matches(p) for p in probes):
            return False
        if not m.matches("") and m.name != "alertname":
            return False
    return True


def validate_silence(silence: Silence, now: float, *, force: bool = False) -> None:
    if not silence.matchers:
        raise UserInputError('a silence needs at least one matcher, e.g. alertname="Foo"')
    if all(m.matches_empty() for m in silence.matchers):
        raise UserInputError(
            "at least one matcher must not match the empty string: as written the silence "
            f"{silence.describe()} would also mute alerts that lack those labels"
        )
    if silence.ends_at <= silence.starts_at:
        raise UserInputError("the end time must be after the start time")
    if silence.ends_at > MAX_TIMESTAMP or silence.starts_at > MAX_TIMESTAMP:
        raise UserInputError(
            "a silence must end before the year 10000; give a nearer end time or duration"
        )
    if silence.ends_at <= now:
        raise UserInputError("the end time can't be in the past")
    if not force and matches_every_alert(silence.matchers):
        raise UserInputError(
            f"the silence {silence.describe()} matches every alert; narrow its matchers "
            '(e.g. add service="...") or, if muting everything is really meant, create it '
            "through /api/v1/silences with force=true"
        )


def _can_update(prev: Silence, new: Silence, now: float) -> bool:
    if prev.matchers != new.matchers:
        return False
    state = prev.state(now)
    if state is SilenceState.ACTIVE:
        return int(new.starts_at) == int(prev.starts_at) and new.ends_at >= now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False


class Silences:
    """Every silence, in memory and in ``alerting_silences``."""

    def __init__(self, db: Database, *, new_id: Callable[[], str] | None = None) -> None:
        self.db = db
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._all: dict[str, Silence] = {}
        self.version = 0

    def load(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(S)).mappings().all()
        for r in rows:
            matchers = tuple(
                matcher_from_parts(
                    m["name"], m["value"], is_regex=m["isRegex"], is_equal=m.get("isEqual", True)
                )
                for m in json.loads(r["matchers"])
            )
            self._all[r["id"]] = Silence(
                id=r["id"],
                matchers=matchers,
                starts_at=float(r["starts_at"]),
                ends_at=float(r["ends_at"]),
                created_by=r["created_by"],
                comment=r["comment"],
                created_at=float(r["created_at"]),
                updated_at=float(r["updated_at"]),
            )
        self.version += 1

    def get(self, silence_id: str) -> Silence:
        found = self._all.get(silence_id)
        if found is None:
            raise NotFoundError(f"silence {silence_id} not found")
        return found

    def find(self, silence_id: str) -> Silence | None:
        return self._all.get(silence_id)

    def all(self) -> list[Silence]:
        return sorted(self._all.values(), key=lambda s: (s.ends_at, s.id))

    def query(
        self, now: float, *, filters: Sequence[Matcher] = (), state: SilenceState | None = None
    ) -> list[Silence]:
        """Silences whose matchers include every filter matcher (Alertmanager's rule)."""
        out = []
        for s in self.all():
            if state is not None and s.state(now) is not state:
                continue
            if filters and not all(f in s.matchers for f in filters):
                continue
            out.append(s)
        return out

    def active(self, now: float) -> list[Silence]:
        return [s for s in self._all.values() if s.is_active(now)]

    def muting(self, alert: Alert, now: float) -> list[str]:
        """Ids of the active silences that mute ``alert``."""
        return sorted(
            s.id for s in self._all.values() if s.is_active(now) and s.matches(alert.label_map)
        )

    def preview(
        self, matchers: Sequence[Matcher], alerts: Iterable[Alert], now: float
    ) -> list[Alert]:
        """The current (firing) alerts a silence with these matchers would mute."""
        return [a for a in alerts if not a.resolved(now) and matches_all(matchers, a.label_map)]

    def set(
        self,
        draft: Silence,
        now: float,
        *,
        force: bool = False,
        on_write: OnWrite[Silence] | None = None,
    ) -> tuple[Silence, Silence | None]:
        """Create or update a silence. Returns (the stored silence, the one it expired).
        ``on_write`` runs in the transaction that stores them, with the stored silence."""
        validate_silence(draft, now, force=force)
        candidate = replace(draft, updated_at=now)
        expired: Silence | None = None
        if draft.id:
            prev = self._all.get(draft.id)
            if prev is None:
                raise NotFoundError(f"silence {draft.id} not found; omit the id to create one")
            if _can_update(prev, candidate, now):
                stored = replace(candidate, created_at=prev.created_at)
                self._store([stored], on_write)
                return stored, None
            if prev.state(now) is not SilenceState.EXPIRED:
                expired = _expired(prev, now)
        stored = replace(
            candidate, id=self._new_id(), starts_at=max(candidate.starts_at, now), created_at=now
        )
        self._store([*([expired] if expired else []), stored], on_write)
        return stored, expired

    def expire(
        self, silence_id: str, now: float, *, on_write: OnWrite[Silence] | None = None
    ) -> Silence:
        """End a silence now; ``on_write`` runs in the same transaction with the ended one."""
        silence = self.get(silence_id)
        if silence.state(now) is SilenceState.EXPIRED:
            raise UserInputError(f"silence {silence_id} already expired")
        done = _expired(silence, now)
        self._store([done], on_write)
        return done

    def next_change(self, now: float) -> float | None:
        """The next instant a silence starts or ends."""
        points = [t for s in self._all.values() for t in (s.starts_at, s.ends_at) if t > now]
        return min(points, default=None)

    def gc(self, now: float, retention: float) -> int:
        old = [s.id for s in self._all.values() if s.ends_at < now - retention]
        for sid in old:
            del self._all[sid]
        if old:
            with self.db.begin() as conn:
                conn.execute(S.delete().where(S.c.id.in_(old)))
            self.version += 1
        return len(old)

    def _store(self, silences: Sequence[Silence], on_write: OnWrite[Silence] | None) -> None:
        """Write ``silences`` in one transaction (with ``on_write`` given the last one),
        then make them current here."""
        with self.db.begin() as conn:
            for silence in silences:
                conn.execute(S.delete().where(S.c.id == silence.id))
                conn.execute(S.insert().values(**_row(silence)))
            if on_write is not None:
                on_write(conn, silences[-1])
        for silence in silences:
            self._all[silence.id] = silence
        self.version += 1


def _expired(silence: Silence, now: float) -> Silence:
    """``silence`` ended at ``now`` (a pending one never starts)."""
    if silence.state(now) is SilenceState.PENDING:
        return replace(silence, starts_at=now, ends_at=now, updated_at=now)
    return replace(silence, ends_at=now, updated_at=now)


def _row(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": json.dumps([matcher_dict(m) for m in silence.matchers]),
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": silence.created_at,
        "updated_at": silence.updated_at,
    }
