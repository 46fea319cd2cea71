"""The delivery log (every attempt), channel health and per-group channel state.

Writes take the worker's open connection so that an attempt's outcome, its log row, the
integration's health and its thread state commit together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import DeliveryFailure
from watchkeeper.notify.records import (
    Attempt,
    AttemptOutcome,
    ChannelHealth,
    HealthStatus,
    Page,
)
from watchkeeper.state.db import Database
from watchkeeper.state.tables.notify import (
    notify_channel_health,
    notify_channel_state,
    notify_delivery_log,
)

L = notify_delivery_log
H = notify_channel_health
S = notify_channel_state
MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What the worker writes for one attempt."""

    delivery_id: int
    receiver: str
    channel: str
    integration: int
    event: NotificationEvent
    dedup_key: str
    group_id: str
    payload_digest: str
    attempt: int
    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: float
    reason: DeliveryFailure | None
    error: str | None
    response: str | None
    retry_at: float | None
    is_test: bool
    worker: str
    at: float


class DeliveryLog:
    """Every attempt, queryable with filters and keyset pagination (newest first)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def record(conn: Connection, rec: AttemptRecord) -> None:
        DeliveryLog.record_many(conn, [rec])

    @staticmethod
    def record_many(conn: Connection, recs: list[AttemptRecord]) -> None:
        if recs:
            conn.execute(L.insert(), [_row(rec) for rec in recs])

    def query(
        self,
        *,
        receiver: str | None = None,
        channel: str | None = None,
        integration: int | None = None,
        event: NotificationEvent | None = None,
        outcome: AttemptOutcome | None = None,
        reason: DeliveryFailure | None = None,
        dedup_key: str | None = None,
        delivery_id: int | None = None,
        is_test: bool | None = None,
        since: float | None = None,
        until: float | None = None,
        before: int | None = None,
        limit: int = 100,
        group_id: str | None = None,
    ) -> Page[Attempt]:
        conds: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (L.c.receiver, receiver),
            (L.c.channel, channel),
            (L.c.integration, integration),
            (L.c.event, event.value if event else None),
            (L.c.outcome, outcome.value if outcome else None),
            (L.c.reason, reason.value if reason else None),
            (L.c.dedup_key, dedup_key),
            (L.c.delivery_id, delivery_id),
            (L.c.is_test, is_test),
            (L.c.group_id, group_id),
        ):
            if value is not None:
                conds.append(column == value)
        if since is not None:
            conds.append(L.c.at >= since)
        if until is not None:
            conds.append(L.c.at < until)
        if before is not None:
            conds.append(L.c.id < before)
        limit = max(1, min(limit, 1000))
        query = sa.select(L).where(*conds).order_by(L.c.id.desc()).limit(limit + 1)
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        items = [_attempt(r) for r in rows[:limit]]
        return Page(items, items[-1].id if len(rows) > limit else None)

    def count(self, **filters: Any) -> int:
        conds = [
            getattr(L.c, k) == (v.value if hasattr(v, "value") else v) for k, v in filters.items()
        ]
        with self.db.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(L).where(*conds)).scalar_one()
            )


def _row(rec: AttemptRecord) -> dict[str, Any]:
    return {
        "delivery_id": rec.delivery_id,
        "receiver": rec.receiver,
        "channel": rec.channel,
        "integration": rec.integration,
        "event": rec.event.value,
        "dedup_key": rec.dedup_key,
        "group_id": rec.group_id,
        "payload_digest": rec.payload_digest,
        "attempt": rec.attempt,
        "outcome": rec.outcome.value,
        "status_code": rec.status_code,
        "latency_ms": rec.latency_ms,
        "reason": rec.reason.value if rec.reason else None,
        "error": rec.error[:MAX_ERROR] if rec.error else None,
        "response": rec.response,
        "retry_at": rec.retry_at,
        "is_test": rec.is_test,
        "worker": rec.worker,
        "at": rec.at,
    }


def _attempt(r: RowMapping) -> Attempt:
    return Attempt(
        id=r["id"],
        delivery_id=r["delivery_id"],
        receiver=r["receiver"],
        channel=r["channel"],
        integration=r["integration"],
        event=NotificationEvent(r["event"]),
        dedup_key=r["dedup_key"],
        group_id=r["group_id"],
        payload_digest=r["payload_digest"],
        attempt=r["attempt"],
        outcome=AttemptOutcome(r["outcome"]),
        status_code=r["status_code"],
        latency_ms=r["latency_ms"],
        reason=DeliveryFailure(r["reason"]) if r["reason"] else None,
        error=r["error"],
        response=r["response"],
        retry_at=r["retry_at"],
        is_test=bool(r["is_test"]),
        worker=r["worker"],
        at=r["at"],
    )


class HealthStore:
    """Channel health per integration: a permanent failure makes it unhealthy until a
    later success; retryable failures make it degraded."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def update(
        conn: Connection,
        *,
        receiver: str,
        channel: str,
        integration: int,
        now: float,
        outcome: AttemptOutcome,
        reason: DeliveryFailure | None,
        error: str | None,
        status_code: int | None,
    ) -> HealthStatus:
        ok = outcome in (AttemptOutcome.DELIVERED, AttemptOutcome.SKIPPED)
        insert_values: dict[str, Any] = {"last_attempt_at": now}
        update_values: dict[str, Any] = {"last_attempt_at": now}
        if ok:
            insert_values.update(
                status=HealthStatus.HEALTHY.value, consecutive_failures=0, last_success_at=now
            )
            update_values.update(insert_values)
        else:
            failure = {
                "last_failure_at": now,
                "last_reason": reason.value if reason else None,
                "last_error": (error or "")[:MAX_ERROR] or None,
                "last_status_code": status_code,
            }
            permanent = outcome is AttemptOutcome.FAILED
            first = HealthStatus.UNHEALTHY if permanent else HealthStatus.DEGRADED
            insert_values.update(failure, status=first.value, consecutive_failures=1)
            update_values.update(
                failure,
                consecutive_failures=H.c.consecutive_failures + 1,
                status=first.value
                if permanent
                else sa.case(
                    (H.c.status == HealthStatus.UNHEALTHY.value, HealthStatus.UNHEALTHY.value),
                    else_=HealthStatus.DEGRADED.value,
                ),
            )
        key = {"receiver": receiver, "channel": channel, "integration": integration}
        stmt = upsert(conn, H, key, insert_values, update_values).returning(H.c.status)
        return HealthStatus(conn.execute(stmt).scalar_one())

    def all(self) -> list[ChannelHealth]:
        with self.db.connect() as conn:
            rows = (
                conn.execute(sa.select(H).order_by(H.c.receiver, H.c.channel, H.c.integration))
                .mappings()
                .all()
            )
        return [_health(r) for r in rows]

    def get(self, receiver: str, channel: str, integration: int) -> ChannelHealth:
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    sa.select(H).where(
                        H.c.receiver == receiver,
                        H.c.channel == channel,
                        H.c.integration == integration,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return ChannelHealth(receiver, channel, integration, HealthStatus.UNKNOWN)
        return _health(row)


def _health(r: RowMapping) -> ChannelHealth:
    return ChannelHealth(
        receiver=r["receiver"],
        channel=r["channel"],
        integration=r["integration"],
        status=HealthStatus(r["status"]),
        consecutive_failures=r["consecutive_failures"],
        last_attempt_at=r["last_attempt_at"],
        last_success_at=r["last_success_at"],
        last_failure_at=r["last_failure_at"],
        last_reason=DeliveryFailure(r["last_reason"]) if r["last_reason"] else None,
        last_error=r["last_error"],
        last_status_code=r["last_status_code"],
    )


class ChannelStateStore:
    """What a channel keeps per (receiver, alert group, integration): message ids for
    threads and in-place updates (``DeliveryReceipt.state``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _where(receiver: str, gid: str, channel: str, integration: int) -> sa.ColumnElement[bool]:
        return sa.and_(
            S.c.receiver == receiver,
            S.c.group_id == gid,
            S.c.channel == channel,
            S.c.integration == integration,
        )

    def load(self, receiver: str, gid: str, channel: str, integration: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            text = conn.execute(
                sa.select(S.c.state).where(self._where(receiver, gid, channel, integration))
            ).scalar()
        if not text:
            return {}
        value = json.loads(text)
        return value if isinstance(value, dict) else {}

    @staticmethod
    def save(
        conn: Connection,
        receiver: str,
        gid: str,
        channel: str,
        integration: int,
        state: dict[str, Any],
        now: float,
    ) -> None:
        text = json.dumps(state, sort_keys=True, default=str)
        key = {
            "receiver": receiver,
            "group_id": gid,
            "channel": channel,
            "integration": integration,
        }
        values = {"state": text, "updated_at": now}
        conn.execute(upsert(conn, S, key, values, values))


def upsert(
    conn: Connection,
    table: sa.Table,
    key: dict[str, Any],
    insert_values: dict[str, Any],
    update_values: dict[str, Any],
) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table).values(**key, **insert_values)
        return pg.on_conflict_do_update(index_elements=list(key), set_=update_values)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(table).values(**key, **insert_values)
    return lite.on_conflict_do_update(index_elements=list(key), set_=update_values)
