"""The instance's dedicated PostgreSQL session (psycopg 3, async, autocommit).

It holds the leader lock — a session-level advisory lock, released by PostgreSQL the moment
the session ends: the process died (its socket closed), an administrator ended it, or the
server gave up on it — and it carries the membership heartbeats, the target claims and the
published check statuses. The session is set up so that a lost peer is noticed on both
ends: TCP keepalives and ``tcp_user_timeout`` on the client, keepalives and
``idle_session_timeout`` on the server (a leader that stops talking — hung, paused, cut off
— loses its session, and with it the lock, after ``session_timeout``). Every round trip is
bounded by ``check_timeout``; a failure closes the session and raises
:class:`~watchkeeper.cluster.errors.ClusterSessionError`.

All times are the database server's clock (epoch seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from watchkeeper.cluster.errors import ClusterSessionError
from watchkeeper.core.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_CLASS = 0x5741_544B  # advisory lock key space of Watchkeeper ("WATK")
LEADER_LOCK = 1
NOW = "extract(epoch from clock_timestamp())::float8"


def libpq_dsn(dsn: str) -> str:
    """A DSN psycopg takes: a ``postgresql+psycopg://`` URL becomes ``postgresql://``."""
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if dsn.startswith(prefix):
            return "postgresql://" + dsn[len(prefix) :]
    return dsn


async def _execute(
    conn: psycopg.AsyncConnection[tuple[Any, ...]],
    sql: str,
    params: dict[str, Any] | None,
    fetch: bool,
) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, params)
    return list(await cur.fetchall()) if fetch else []


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What an instance says about itself in the member list."""

    id: str
    url: str
    hostname: str
    pid: int
    version: str


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: str
    url: str
    hostname: str
    pid: int
    version: str
    backend_pid: int
    started_at: float
    heartbeat_at: float
    age: float  # seconds since its last heartbeat, by the database clock


@dataclass(frozen=True, slots=True)
class LeaderRow:
    term: int
    member_id: str
    elected_at: float


class ClusterSession:
    def __init__(
        self,
        dsn: str,
        *,
        member_id: str,
        session_timeout: float,
        check_timeout: float,
    ) -> None:
        self._dsn = libpq_dsn(dsn)
        self.member_id = member_id
        self.session_timeout = session_timeout
        self.check_timeout = check_timeout
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self.backend_pid = 0
        self.backend_start = 0.0
        self.holds_lock = False
        self._abandoned: set[asyncio.Future[None]] = set()
        self._lock = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        return self._conn is not None and not self._conn.closed

    # -- connection ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (closing any previous connection) and set the session up."""
        await self.close()
        idle = max(1, round(self.session_timeout / 3))
        interval = max(1, round(self.session_timeout / 6))
        try:
            async with asyncio.timeout(self.check_timeout * 5):
                conn = await psycopg.AsyncConnection.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=max(2, round(self.check_timeout * 2)),
                    application_name=f"watchkeeper cluster {self.member_id}"[:63],
                    keepalives=1,
                    keepalives_idle=idle,
                    keepalives_interval=interval,
                    keepalives_count=3,
                    tcp_user_timeout=round(self.session_timeout * 1000),
                )
        except (psycopg.Error, TimeoutError, OSError) as exc:
            raise ClusterSessionError(f"cannot open the cluster session: {exc}") from None
        self._conn = conn
        self.holds_lock = False
        ms = round(self.session_timeout * 1000)
        await self._run(
            f"SET idle_session_timeout = {ms}; SET statement_timeout = "
            f"{round(self.check_timeout * 1000)}; SET tcp_keepalives_idle = {idle}; "
            f"SET tcp_keepalives_interval = {interval}; SET tcp_keepalives_count = 3",
            fetch=False,
        )
        row = await self._one(
            "SELECT pg_backend_pid(), extract(epoch from backend_start)::float8 "
            "FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        self.backend_pid, self.backend_start = int(row[0]), float(row[1])

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        self.holds_lock = False
        if conn is not None and not conn.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.check_timeout):
                    await conn.close()

    async def _run(
        self, sql: str, params: dict[str, Any] | None = None, *, fetch: bool = True
    ) -> list[tuple[Any, ...]]:
        async with self._lock:  # one query at a time: the heartbeat and the work share it
            return await self._run_locked(sql, params, fetch)

    async def _run_locked(
        self, sql: str, params: dict[str, Any] | None, fetch: bool
    ) -> list[tuple[Any, ...]]:
        conn = self._conn
        if conn is None or conn.closed:
            raise ClusterSessionError("the cluster session is not open")
        work = asyncio.ensure_future(_execute(conn, sql, params, fetch))
        try:
            done, _ = await asyncio.wait({work}, timeout=self.check_timeout)
        except asyncio.CancelledError:
            work.cancel()
            raise
        if work not in done:  # a loop that was busy may not have read the answer yet
            done, _ = await asyncio.wait({work}, timeout=min(0.2, self.check_timeout))
        if work not in done:
            # No answer in time. Cancelling a query waits for the server (which may be
            # the one not answering), so the connection is abandoned at once and closed
            # once psycopg has given up on it.
            work.cancel()
            self._abandon(conn, work)
            raise ClusterSessionError(
                f"cluster session failed: no answer within {self.check_timeout:g}s"
            )
        try:
            return work.result()
        except (psycopg.Error, OSError) as exc:
            await self.close()
            raise ClusterSessionError(f"cluster session failed: {str(exc).strip()}") from None

    def _abandon(
        self, conn: psycopg.AsyncConnection[tuple[Any, ...]], work: asyncio.Future[Any]
    ) -> None:
        if self._conn is conn:
            self._conn = None
            self.holds_lock = False

        async def close_later() -> None:
            with contextlib.suppress(BaseException):
                await work
            with contextlib.suppress(Exception):
                await conn.close()

        task = asyncio.ensure_future(close_later())
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)

    async def _one(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
        rows = await self._run(sql, params)
        if not rows:
            raise ClusterSessionError(f"no row from: {sql.split()[0]} ...")
        return rows[0]

    # -- membership ----------------------------------------------------------------------

    async def join(self, me: MemberInfo, member_timeout: float) -> None:
        """Refuse to join under an instance id a live instance already uses."""
        rows = await self._run(
            f"SELECT {NOW} - heartbeat_at FROM cluster_members WHERE id = %(id)s",
            {"id": me.id},
        )
        if rows and float(rows[0][0]) < member_timeout:
            raise ConfigError(
                f"cluster.instance_id: another live instance already uses {me.id!r}; give each "
                "instance its own instance_id, or leave it unset for a generated one"
            )

    async def heartbeat(self, me: MemberInfo) -> float:
        """Write (or re-create) this member's row; returns the database time."""
        row = await self._one(
            f"""INSERT INTO cluster_members (id, url, hostname, pid, version, backend_pid,
                    backend_start, started_at, heartbeat_at)
                VALUES (%(id)s, %(url)s, %(host)s, %(pid)s, %(version)s, %(bpid)s, %(bstart)s,
                    {NOW}, {NOW})
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at,
                    url = EXCLUDED.url, backend_pid = EXCLUDED.backend_pid,
                    backend_start = EXCLUDED.backend_start
                RETURNING heartbeat_at""",
            {
                "id": me.id,
                "url": me.url,
                "host": me.hostname,
                "pid": me.pid,
                "version": me.version,
                "bpid": self.backend_pid,
                "bstart": self.backend_start,
            },
        )
        return float(row[0])

    async def view(self, reap_after: float) -> tuple[list[MemberRow], LeaderRow | None]:
        """Every member (rows silent for longer than ``reap_after`` are deleted first) and
        the leader row."""
        await self._run(
            f"DELETE FROM cluster_members WHERE heartbeat_at < {NOW} - %(reap)s",
            {"reap": reap_after},
            fetch=False,
        )
        rows = await self._run(
            f"""SELECT id, url, hostname, pid, version, backend_pid, started_at, heartbeat_at,
                    {NOW} - heartbeat_at FROM cluster_members ORDER BY id"""
        )
        members = [
            MemberRow(
                id=r[0],
                url=r[1],
                hostname=r[2],
                pid=int(r[3]),
                version=r[4],
                backend_pid=int(r[5]),
                started_at=float(r[6]),
                heartbeat_at=float(r[7]),
                age=max(0.0, float(r[8])),
            )
            for r in rows
        ]
        lead = await self._run(
            "SELECT term, member_id, elected_at FROM cluster_leader WHERE id = 1"
        )
        leader = LeaderRow(int(lead[0][0]), lead[0][1], float(lead[0][2])) if lead else None
        return members, leader

    async def leave(self) -> None:
        """Hand back every target this member holds and remove its row."""
        params = {"id": self.member_id}
        await self._run(
            "UPDATE cluster_targets SET owner = NULL, claimed_at = NULL WHERE owner = %(id)s",
            params,
            fetch=False,
        )
        await self._run("DELETE FROM cluster_members WHERE id = %(id)s", params, fetch=False)

    # -- the leader lock -----------------------------------------------------------------

    async def try_lock(self) -> bool:
        row = await self._one(
            "SELECT pg_try_advisory_lock(%(c)s, %(k)s)", {"c": LOCK_CLASS, "k": LEADER_LOCK}
        )
        self.holds_lock = bool(row[0])
        return self.holds_lock

    async def lock_held(self) -> bool:
        """Whether this session still holds the leader lock (asked of ``pg_locks``)."""
        row = await self._one(
            """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                AND pid = pg_backend_pid() AND classid = %(c)s::oid AND objid = %(k)s::oid
                AND objsubid = 2)""",
            {"c": LOCK_CLASS, "k": LEADER_LOCK},
        )
        return bool(row[0])

    async def take_leadership(self) -> int:
        """Record this member as leader with the next term (the fencing token)."""
        row = await self._one(
            f"""INSERT INTO cluster_leader (id, term, member_id, elected_at)
                VALUES (1, 1, %(id)s, {NOW})
                ON CONFLICT (id) DO UPDATE SET term = cluster_leader.term + 1,
                    member_id = EXCLUDED.member_id, elected_at = EXCLUDED.elected_at
                RETURNING term""",
            {"id": self.member_id},
        )
        return int(row[0])

    async def unlock(self) -> None:
        if self.holds_lock:
            await self._run(
                "SELECT pg_advisory_unlock(%(c)s, %(k)s)", {"c": LOCK_CLASS, "k": LEADER_LOCK}
            )
            self.holds_lock = False

    # -- target claims -------------------------------------------------------------------

    async def owned(self) -> set[str]:
        rows = await self._run(
            "SELECT key FROM cluster_targets WHERE owner = %(id)s", {"id": self.member_id}
        )
        return {r[0] for r in rows}

    async def release(self, keys: Sequence[str]) -> None:
        if keys:
            await self._run(
                """UPDATE cluster_targets SET owner = NULL, claimed_at = NULL
                   WHERE owner = %(id)s AND key = ANY(%(keys)s)""",
                {"id": self.member_id, "keys": list(keys)},
                fetch=False,
            )

    async def claim(self, keys: Sequence[str], member_timeout: float) -> set[str]:
        """Compare-and-set: take those of ``keys`` that nobody live holds; returns them."""
        if not keys:
            return set()
        await self._run(
            "INSERT INTO cluster_targets (key) SELECT unnest(%(keys)s::text[]) "
            "ON CONFLICT (key) DO NOTHING",
            {"keys": list(keys)},
            fetch=False,
        )
        rows = await self._run(
            f"""UPDATE cluster_targets t SET owner = %(id)s, claimed_at = {NOW}
                WHERE t.key = ANY(%(keys)s) AND (t.owner IS NULL OR t.owner = %(id)s
                    OR NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.id = t.owner
                        AND m.heartbeat_at >= {NOW} - %(timeout)s))
                RETURNING t.key""",
            {"id": self.member_id, "keys": list(keys), "timeout": member_timeout},
        )
        return {r[0] for r in rows}

    async def forget_targets(self, keep: Sequence[str]) -> None:
        """Delete the rows of targets no longer configured (the leader does this)."""
        await self._run(
            "DELETE FROM cluster_targets WHERE NOT (key = ANY(%(keys)s))",
            {"keys": list(keep)},
            fetch=False,
        )

    async def publish(self, statuses: dict[str, str]) -> None:
        """Store the status JSON of targets this member owns."""
        if statuses:
            await self._run(
                f"""UPDATE cluster_targets t SET status = s.status, status_at = {NOW}
                    FROM unnest(%(keys)s::text[], %(values)s::text[]) AS s(key, status)
                    WHERE t.key = s.key AND t.owner = %(id)s""",
                {
                    "id": self.member_id,
                    "keys": list(statuses),
                    "values": list(statuses.values()),
                },
                fetch=False,
            )

    async def targets(self) -> list[tuple[str, str | None, str | None]]:
        """(key, owner, status JSON) of every target row."""
        rows = await self._run("SELECT key, owner, status FROM cluster_targets ORDER BY key")
        return [(r[0], r[1], r[2]) for r in rows]

    # -- shared settings -----------------------------------------------------------------

    async def setting(self, name: str, default: str) -> str:
        """The shared value of ``name``; the first instance to ask stores ``default``."""
        await self._run(
            "INSERT INTO cluster_settings (name, value) VALUES (%(n)s, %(v)s) "
            "ON CONFLICT (name) DO NOTHING",
            {"n": name, "v": default},
            fetch=False,
        )
        row = await self._one("SELECT value FROM cluster_settings WHERE name = %(n)s", {"n": name})
        return str(row[0])
