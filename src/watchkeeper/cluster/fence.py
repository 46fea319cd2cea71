"""Fencing: leader-owned state is written only by the instance that holds the leader lock,
in its own term.

The components only the leader runs (alert management, the rule evaluator's alert state,
the notification outbox and its worker) are given a :class:`FencedDatabase`: the same
engine as everyone else's, but each of its transactions begins by checking, inside the
transaction, that

1. this instance believes it leads (an in-memory flag, cleared the moment its dedicated
   session fails),
2. the ``cluster_leader`` row still names this instance with the term it was elected in
   (read ``FOR SHARE``, so a new leader's election waits for this transaction to end and
   every later transaction of the old leader sees the new term), and
3. its dedicated session still holds the advisory lock (``pg_locks``: the lock disappears
   the instant that session ends, before anyone else can have been elected).

Otherwise the transaction raises :class:`~watchkeeper.cluster.errors.NotLeaderError` and
writes nothing. So an old leader that lost its session cannot claim an outbox row, enqueue a
notification or overwrite alert state once a new leader may be running; what it claimed
before stays leased to it until the new leader hands it back (see
:mod:`watchkeeper.cluster.leases`). Reads (``connect()``) are not fenced: followers read the
same tables to serve the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.cluster.errors import NotLeaderError
from watchkeeper.cluster.session import LEADER_LOCK, LOCK_CLASS
from watchkeeper.state.db import Database

_CHECK = sa.text(
    """SELECT l.term, l.member_id,
           EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted
               AND k.pid = :pid AND k.classid = CAST(:c AS oid) AND k.objid = CAST(:k AS oid)
               AND k.objsubid = 2) AS holds
       FROM cluster_leader l WHERE l.id = 1 FOR SHARE OF l"""
)


class Fence:
    """This instance's leadership as the fenced writers see it."""

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        self.term: int | None = None
        self.backend_pid = 0
        self.closed_reason = "this instance is a follower"

    @property
    def is_open(self) -> bool:
        return self.term is not None

    def open(self, term: int, backend_pid: int) -> None:
        self.term = term
        self.backend_pid = backend_pid

    def close(self, reason: str) -> None:
        self.term = None
        self.closed_reason = reason

    def check(self, conn: Connection) -> None:
        """Raise :class:`NotLeaderError` unless this instance leads in its term (see the
        module docstring); run inside the transaction it guards."""
        term = self.term
        if term is None:
            raise NotLeaderError(
                f"not the leader ({self.closed_reason}); leader-owned state is written only "
                "by the leader"
            )
        row = conn.execute(
            _CHECK, {"pid": self.backend_pid, "c": LOCK_CLASS, "k": LEADER_LOCK}
        ).one_or_none()
        if row is None or row.member_id != self.member_id or int(row.term) != term:
            who = f"{row.member_id} in term {row.term}" if row is not None else "nobody"
            self.close(f"the leader is now {who}")
            raise NotLeaderError(f"not the leader any more: the leader is {who}")
        if not row.holds:
            self.close("the leader lock's session ended")
            raise NotLeaderError("not the leader any more: the leader lock's session ended")


class FencedDatabase(Database):
    """A :class:`Database` sharing ``base``'s engine whose transactions are fenced."""

    def __init__(self, base: Database, fence: Fence) -> None:  # shares base's engine
        self.url = base.url
        self.is_sqlite = base.is_sqlite
        self.engine = base.engine
        self.base = base
        self.fence = fence

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with super().begin() as conn:
            self.fence.check(conn)
            yield conn

    def dispose(self) -> None:
        """The engine belongs to ``base``, which disposes of it."""
