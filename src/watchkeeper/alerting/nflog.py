"""The notification log (Alertmanager's nflog): per alert group and receiver, what was
last notified (the firing and resolved alerts), when, and how many repeats since. It is
what decides whether a flush sends anything, and it is persisted so that a restart
neither repeats early nor forgets what was sent.

Entries are written in batches (:meth:`NotificationLog.flush`, once per burst of timers):
losing the last batch in a crash only makes the next flush compute the same event again,
whose dedup key the outbox has already seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_nflog

N = alerting_nflog


@dataclass(frozen=True, slots=True)
class NflogEntry:
    group_id: str
    receiver: str
    group_key: str
    firing: frozenset[str]
    resolved: frozenset[str]
    notified_at: float
    repeat_count: int
    content: str  # digest of what was sent (part of the dedup key)
    expires_at: float


class NotificationLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[str, dict[str, NflogEntry]] = {}
        self._dirty: dict[tuple[str, str], NflogEntry] = {}

    def load(self, now: float) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(N).where(N.c.expires_at > now)).mappings().all()
        self._entries = {}
        for r in rows:
            entry = NflogEntry(
                group_id=r["group_id"],
                receiver=r["receiver"],
                group_key=r["group_key"],
                firing=frozenset(json.loads(r["firing"])),
                resolved=frozenset(json.loads(r["resolved"])),
                notified_at=float(r["notified_at"]),
                repeat_count=int(r["repeat_count"]),
                content=r["content"],
                expires_at=float(r["expires_at"]),
            )
            self._entries.setdefault(entry.group_id, {})[entry.receiver] = entry

    def get(self, group_id: str, receiver: str) -> NflogEntry | None:
        return self._entries.get(group_id, {}).get(receiver)

    def receivers(self, group_id: str) -> list[str]:
        return list(self._entries.get(group_id, {}))

    def has_group(self, group_id: str) -> bool:
        return bool(self._entries.get(group_id))

    def last_notified(self, group_id: str) -> float | None:
        entries = self._entries.get(group_id)
        if not entries:
            return None
        return max(e.notified_at for e in entries.values())

    def log(self, entry: NflogEntry) -> None:
        self._entries.setdefault(entry.group_id, {})[entry.receiver] = entry
        self._dirty[(entry.group_id, entry.receiver)] = entry

    def flush(self) -> None:
        """Write the entries logged since the last flush, in one transaction."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        with self.db.begin() as conn:
            for group_id, receiver in dirty:
                conn.execute(
                    N.delete().where((N.c.group_id == group_id) & (N.c.receiver == receiver))
                )
            conn.execute(
                N.insert(),
                [
                    {
                        "group_id": e.group_id,
                        "receiver": e.receiver,
                        "group_key": e.group_key,
                        "firing": json.dumps(sorted(e.firing)),
                        "resolved": json.dumps(sorted(e.resolved)),
                        "notified_at": e.notified_at,
                        "repeat_count": e.repeat_count,
                        "content": e.content,
                        "expires_at": e.expires_at,
                    }
                    for e in dirty.values()
                ],
            )

    def gc(self, now: float) -> int:
        gone = [
            (gid, rcv)
            for gid, by_rcv in self._entries.items()
            for rcv, e in by_rcv.items()
            if e.expires_at <= now
        ]
        for gid, rcv in gone:
            del self._entries[gid][rcv]
            if not self._entries[gid]:
                del self._entries[gid]
        if gone:
            with self.db.begin() as conn:
                conn.execute(N.delete().where(N.c.expires_at <= now))
        return len(gone)
