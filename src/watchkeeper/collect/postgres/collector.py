"""The PostgreSQL collector (see the package docstring for its series)."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
from psycopg import errors, sql

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.platform import sample
from watchkeeper.collect.postgres import queries as q
from watchkeeper.collect.postgres.config import PostgresCheckConfig

P = "watchkeeper_postgres"


class PostgresCollector:
    kind: ClassVar[str] = "postgres"

    def __init__(self, config: PostgresCheckConfig, deps: CollectorDeps) -> None:
        self.config = config
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _connect(self, timeout_s: float) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        ms = int(float(self.config.statement_timeout) * 1000)
        conn = await psycopg.AsyncConnection.connect(
            self.config.dsn.reveal(),
            autocommit=True,
            connect_timeout=max(1, int(timeout_s)),
            application_name="watchkeeper",
            options=f"-c default_transaction_read_only=on -c statement_timeout={ms} "
            f"-c lock_timeout={ms}",
        )
        self._conn = conn
        return conn

    async def collect(self, ctx: CollectContext) -> CollectResult:
        try:
            conn = await self._connect(ctx.target.timeout)
            samples, detail = await self._read(conn)
        except psycopg.Error as exc:
            await self.close()
            raise _classify(exc, self.config.instance()) from None
        return CollectResult(samples=samples, detail=detail)

    async def _read(
        self, conn: psycopg.AsyncConnection[Any]
    ) -> tuple[list[SampleOut], dict[str, Any]]:
        out: list[SampleOut] = []
        detail: dict[str, Any] = {}
        async with conn.cursor() as cur:
            await cur.execute(q.SETTINGS)
            row = await cur.fetchone()
            if row is None:
                raise TargetError("PostgreSQL returned no settings", CollectFailure.BAD_RESPONSE)
            max_conn, freeze_max, replica = row
            out += [
                sample(f"{P}_max_connections", max_conn),
                sample(f"{P}_autovacuum_freeze_max_age", freeze_max),
                sample(f"{P}_is_replica", bool(replica)),
            ]
            out += await self._activity(cur, detail)
            await cur.execute(q.DATABASE)
            db = await cur.fetchone()
            if db is not None:
                commits, rollbacks, deadlocks, temp, hit, read, size = db
                out += [
                    sample(f"{P}_commits_total", commits),
                    sample(f"{P}_rollbacks_total", rollbacks),
                    sample(f"{P}_deadlocks_total", deadlocks),
                    sample(f"{P}_temp_bytes_total", temp),
                    sample(f"{P}_blocks_hit_total", hit),
                    sample(f"{P}_blocks_read_total", read),
                    sample(f"{P}_database_size_bytes", size),
                ]
                if hit + read > 0:
                    out.append(sample(f"{P}_cache_hit_ratio", hit / (hit + read)))
            await cur.execute(q.WRAPAROUND)
            ages = await cur.fetchall()
            out += [sample(f"{P}_xid_age", age, datname=name) for name, age in ages]
            if ages:
                detail["max_xid_age"] = max(int(a) for _, a in ages)
            if replica:
                await cur.execute(q.REPLAY_DELAY)
                delay = await cur.fetchone()
                out.append(sample(f"{P}_replay_delay_seconds", float(delay[0]) if delay else 0.0))
            else:
                await cur.execute(q.REPLICATION)
                for app, lag_s, lag_b in await cur.fetchall():
                    out.append(sample(f"{P}_replication_lag_seconds", lag_s, application_name=app))
                    out.append(sample(f"{P}_replication_lag_bytes", lag_b, application_name=app))
            out += await self._statements(cur, detail)
        return out, detail

    async def _activity(
        self, cur: psycopg.AsyncCursor[Any], detail: dict[str, Any]
    ) -> list[SampleOut]:
        await cur.execute(q.ACTIVITY)
        rows = await cur.fetchall()
        states = {"active": 0, "idle": 0, "idle in transaction": 0}
        longest_tx = longest_query = longest_lock = 0.0
        waiting = blocked = 0
        for state, n, max_xact, max_query, lock_waiting, max_lock, blk in rows:
            states[state] = states.get(state, 0) + int(n)
            longest_tx = max(longest_tx, float(max_xact))
            longest_query = max(longest_query, float(max_query))
            longest_lock = max(longest_lock, float(max_lock))
            waiting += int(lock_waiting)
            blocked += int(blk)
        detail.update(
            connections=sum(states.values()),
            longest_transaction_seconds=round(longest_tx, 3),
            lock_waiting_sessions=waiting,
        )
        return [
            *(sample(f"{P}_connections", n, state=s) for s, n in states.items()),
            sample(f"{P}_idle_in_transaction_sessions", states["idle in transaction"]),
            sample(f"{P}_longest_transaction_seconds", longest_tx),
            sample(f"{P}_longest_query_seconds", longest_query),
            sample(f"{P}_lock_waiting_sessions", waiting),
            sample(f"{P}_longest_lock_wait_seconds", longest_lock),
            sample(f"{P}_blocked_sessions", blocked),
        ]

    async def _statements(
        self, cur: psycopg.AsyncCursor[Any], detail: dict[str, Any]
    ) -> list[SampleOut]:
        await cur.execute(q.STATEMENTS_SCHEMA)
        found = await cur.fetchone()
        detail["pg_stat_statements"] = found is not None
        out = [sample(f"{P}_statements_available", found is not None)]
        if found is None or self.config.top_statements == 0:
            return out
        query = sql.SQL(q.TOP_STATEMENTS).format(schema=sql.Identifier(found[0]))
        try:
            await cur.execute(query, (self.config.top_statements,))
        except errors.ObjectNotInPrerequisiteState:
            # installed but not in shared_preload_libraries: the view cannot be read
            detail["pg_stat_statements"] = "installed but not loaded (shared_preload_libraries)"
            return [sample(f"{P}_statements_available", 0)]
        for queryid, calls, total, mean, text in await cur.fetchall():
            labels = {"queryid": str(queryid), "query": str(text)}
            out.append(sample(f"{P}_statement_calls_total", calls, **labels))
            out.append(sample(f"{P}_statement_exec_seconds_total", total, **labels))
            out.append(sample(f"{P}_statement_mean_exec_seconds", mean, **labels))
        return out


def _classify(exc: psycopg.Error, where: str) -> TargetError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, errors.InvalidPassword | errors.InvalidAuthorizationSpecification):
        return TargetError(
            f"PostgreSQL at {where} refused the login ({text}); check the user and password "
            "in the check's dsn (or dsn_file)",
            CollectFailure.AUTH,
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return TargetError(
            f"PostgreSQL at {where}: permission denied ({text}); grant the role pg_monitor",
            CollectFailure.AUTH,
        )
    if isinstance(exc, errors.QueryCanceled):
        return TargetError(
            f"a monitoring query on {where} hit the statement_timeout ({text})",
            CollectFailure.TIMEOUT,
        )
    if isinstance(exc, psycopg.OperationalError):
        return TargetError(
            f"cannot connect to PostgreSQL at {where}: {text}", CollectFailure.CONNECTION
        )
    return TargetError(f"PostgreSQL at {where}: {text}", CollectFailure.BAD_RESPONSE)
