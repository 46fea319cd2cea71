"""The durable outbox on the state database (SQLAlchemy Core; SQLite and PostgreSQL).

``enqueue`` writes the message and one delivery row per channel integration in one
transaction before it returns; the unique ``(receiver, dedup_key)`` makes a second enqueue
of the same event a no-op, so a restart never pages twice. Workers take due rows by
compare-and-set: the ``UPDATE`` that claims a row repeats the "is it due?" condition, so of
two processes racing for a row exactly one gets it (PostgreSQL re-checks the condition on
the row it waited for; SQLite serialises writers). A claim is a lease: a row whose worker
died is due again once the lease has run out. Rows of one (receiver, alert group,
integration) go out in order: a row waits while an older one of its group is unfinished.

A worker in the same process may ask to receive new rows directly (:meth:`SqlOutbox.
set_direct`): then ``enqueue`` claims the rows it queues for that worker in the same
transaction (a row born claimed, with the usual lease) and hands them over after the
commit, so a notification leaves without waiting for the worker's next poll. Rows the
worker cannot take now (rate limits, concurrency, an older unfinished row of the group)
are queued as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.core.errors import DeliveryFailure, NotFoundError
from watchkeeper.notify.base import NotificationMessage
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.records import Delivery, Page, digest, group_id
from watchkeeper.state.db import Database
from watchkeeper.state.tables.notify import (
    notify_channel_state,
    notify_deliveries,
    notify_delivery_log,
    notify_messages,
)

D = notify_deliveries
M = notify_messages
_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    receiver: str
    channel: str
    integration: int


@dataclass(frozen=True, slots=True)
class DirectClaim:
    """A worker of this process that takes new rows at enqueue time."""

    owner: str
    lease: float
    accept: Callable[[list[Candidate]], list[int]]  # the ids it takes now (rate, concurrency)
    deliver: Callable[[list[Claimed]], None]  # after the commit: send these


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease on, with what it needs to send it."""

    id: int
    version: int
    receiver: str
    channel: str
    integration: int
    group_id: str
    dedup_key: str
    event: NotificationEvent
    attempts: int  # attempts made before this one
    created_at: float
    payload: str
    payload_digest: str
    is_test: bool

    def message(self) -> NotificationMessage:
        return NotificationMessage.from_json(self.payload)


class SqlOutbox:
    """Implements :class:`watchkeeper.notify.base.Outbox` on a :class:`Database`."""

    def __init__(self, db: Database, receivers: Iterable[ReceiverConfig], *, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._receivers: dict[str, ReceiverConfig] = {}
        self._listeners: list[Callable[[], None]] = []
        self._direct: DirectClaim | None = None
        self.set_receivers(receivers)

    # -- configuration -------------------------------------------------------------------

    def set_receivers(self, receivers: Iterable[ReceiverConfig]) -> None:
        """Swap the receivers (config reload); rows already queued are kept."""
        self._receivers = {r.name: r for r in receivers}

    @property
    def receivers(self) -> dict[str, ReceiverConfig]:
        return dict(self._receivers)

    def set_direct(self, direct: DirectClaim | None) -> None:
        """Hand new rows straight to a worker of this process (``None`` stops it)."""
        self._direct = direct

    def add_listener(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs after each enqueue that queued something (wakes a worker)."""
        self._listeners.append(callback)

    # -- writing -------------------------------------------------------------------------

    def enqueue(
        self,
        receiver: str,
        message: NotificationMessage,
        *,
        on_write: Callable[[Connection], None] | None = None,
    ) -> int:
        """Queue ``message`` for every integration of ``receiver``; 0 for a duplicate.
        ``on_write`` runs in the transaction that queues it (not for a duplicate)."""
        config = self._receivers.get(receiver)
        if config is None:
            known = ", ".join(sorted(self._receivers)) or "(none)"
            raise NotFoundError(f"unknown receiver {receiver!r}; configured receivers: {known}")
        integrations = [
            (channel, index)
            for channel, index, cfg in config.integrations()
            if wants(cfg, message.event)
        ]
        payload = message.to_json()
        now = self.clock.now()
        gid = group_id(message.group_key)
        direct = self._direct
        claimed: list[Claimed] = []
        try:
            with self.db.begin() as conn:
                message_id = conn.execute(
                    M.insert()
                    .values(
                        receiver=receiver,
                        dedup_key=message.dedup_key,
                        group_key=message.group_key,
                        group_id=gid,
                        event=message.event.value,
                        is_test=message.is_test,
                        payload=payload,
                        payload_digest=digest(payload),
                        created_at=now,
                    )
                    .returning(M.c.id)
                ).scalar_one()
                if integrations:
                    conn.execute(
                        D.insert(),
                        [
                            {
                                "message_id": message_id,
                                "receiver": receiver,
                                "channel": channel,
                                "integration": index,
                                "group_id": gid,
                                "dedup_key": message.dedup_key,
                                "event": message.event.value,
                                "status": DeliveryStatus.PENDING.value,
                                "attempts": 0,
                                "version": 0,
                                "created_at": now,
                                "updated_at": now,
                                "next_attempt_at": now,
                            }
                            for channel, index in integrations
                        ],
                    )
                if on_write is not None:
                    on_write(conn)
                if integrations and direct is not None:
                    claimed = self._claim_new(conn, message_id, direct, now)
        except sa.exc.IntegrityError:
            return 0  # this receiver already has this dedup key: nothing new to send
        if claimed and direct is not None:
            direct.deliver(claimed)
        if integrations and len(claimed) < len(integrations):
            for callback in list(self._listeners):
                callback()
        return len(integrations)

    def _claim_new(
        self, conn: Connection, message_id: int, direct: DirectClaim, now: float
    ) -> list[Claimed]:
        """Claim, in the enqueue's transaction, the new rows of ``message_id`` that no older
        row of their group holds back and that the worker accepts now."""
        rows = conn.execute(
            sa.select(D.c.id, D.c.receiver, D.c.channel, D.c.integration).where(
                D.c.message_id == message_id, ~self._blocked()
            )
        ).all()
        ids = direct.accept([Candidate(r.id, r.receiver, r.channel, r.integration) for r in rows])
        return self._claim_in(conn, ids, direct.owner, now, direct.lease)

    # -- claiming (used by the worker) ---------------------------------------------------

    @staticmethod
    def _due(now: float | sa.ColumnElement[float]) -> sa.ColumnElement[bool]:
        return sa.or_(
            sa.and_(D.c.status == DeliveryStatus.PENDING.value, D.c.next_attempt_at <= now),
            sa.and_(D.c.status == DeliveryStatus.SENDING.value, D.c.lease_until < now),
        )

    @staticmethod
    def _blocked() -> sa.Exists:
        """An older unfinished row of the same (receiver, group, integration) exists."""
        older = D.alias("older")
        return (
            sa.select(older.c.id)
            .where(
                older.c.receiver == D.c.receiver,
                older.c.group_id == D.c.group_id,
                older.c.channel == D.c.channel,
                older.c.integration == D.c.integration,
                older.c.status.in_(_OPEN),
                older.c.id < D.c.id,
            )
            .exists()
        )

    def candidates(self, now: float, limit: int) -> list[Candidate]:
        """Due rows not waiting behind an older unfinished row of their group, oldest first."""
        query = _candidates_query()
        with self.db.connect() as conn:
            rows = conn.execute(query, {"now": now, "limit": limit})
            return [Candidate(r.id, r.receiver, r.channel, r.integration) for r in rows]

    def claim_due(
        self,
        now: float,
        owner: str,
        lease: float,
        limit: int,
        accept: Callable[[Candidate], bool],
        scan: int,
    ) -> list[Claimed]:
        """:meth:`candidates` (up to ``scan``), those ``accept`` takes (up to ``limit``),
        then :meth:`claim` — one call for the worker's thread."""
        chosen: list[int] = []
        for c in self.candidates(now, scan):
            if len(chosen) >= limit:
                break
            if accept(c):
                chosen.append(c.id)
        return self.claim(chosen, owner, now, lease)

    def claim(self, ids: Sequence[int], owner: str, now: float, lease: float) -> list[Claimed]:
        """Compare-and-set: take those of ``ids`` that are still due; return what was taken."""
        if not ids:
            return []
        with self.db.begin() as conn:
            return self._claim_in(conn, ids, owner, now, lease)

    def _claim_in(
        self, conn: Connection, ids: Sequence[int], owner: str, now: float, lease: float
    ) -> list[Claimed]:
        if not ids:
            return []
        conn.execute(
            D.update()
            .where(D.c.id.in_(list(ids)), self._due(now))
            .values(
                status=DeliveryStatus.SENDING.value,
                lease_owner=owner,
                lease_until=now + lease,
                version=D.c.version + 1,
                updated_at=now,
            )
        )
        rows = conn.execute(
            sa.select(
                D.c.id,
                D.c.version,
                D.c.receiver,
                D.c.channel,
                D.c.integration,
                D.c.group_id,
                D.c.dedup_key,
                D.c.event,
                D.c.attempts,
                D.c.created_at,
                M.c.payload,
                M.c.payload_digest,
                M.c.is_test,
            )
            .join(M, M.c.id == D.c.message_id)
            .where(
                D.c.id.in_(list(ids)),
                D.c.lease_owner == owner,
                D.c.status == DeliveryStatus.SENDING.value,
                D.c.updated_at == now,
            )
            .order_by(D.c.id)
        ).all()
        return [
            Claimed(
                id=r.id,
                version=r.version,
                receiver=r.receiver,
                channel=r.channel,
                integration=r.integration,
                group_id=r.group_id,
                dedup_key=r.dedup_key,
                event=NotificationEvent(r.event),
                attempts=r.attempts,
                created_at=r.created_at,
                payload=r.payload,
                payload_digest=r.payload_digest,
                is_test=bool(r.is_test),
            )
            for r in rows
        ]

    def finish(
        self,
        conn: Connection,
        claimed: Claimed,
        *,
        owner: str,
        status: DeliveryStatus,
        now: float,
        next_attempt_at: float | None,
        reason: DeliveryFailure | None,
        error: str | None,
        status_code: int | None,
        summary: str | None,
    ) -> bool:
        """Record the attempt's result on the row, if this worker still holds the lease."""
        values: dict[str, Any] = {
            "status": status.value,
            "attempts": claimed.attempts + 1,
            "updated_at": now,
            "lease_owner": None,
            "lease_until": None,
            "last_reason": reason.value if reason else None,
            "last_error": error,
            "last_status_code": status_code,
            "response_summary": summary,
            "version": D.c.version + 1,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            values["finished_at"] = now
        result = conn.execute(
            D.update()
            .where(
                D.c.id == claimed.id,
                D.c.version == claimed.version,
                D.c.lease_owner == owner,
            )
            .values(**values)
        )
        return result.rowcount == 1

    @staticmethod
    def finish_many(conn: Connection, owner: str, results: list[dict[str, Any]]) -> None:
        """:meth:`finish` for many rows in one statement (executemany). Each result has
        ``id, version, status, attempts, now, next_attempt_at, finished_at, reason, error,
        status_code, summary``; rows whose lease this worker lost are left alone."""
        if not results:
            return
        bp = sa.bindparam
        stmt = (
            D.update()
            .where(D.c.id == bp("b_id"), D.c.version == bp("b_version"), D.c.lease_owner == owner)
            .values(
                status=bp("b_status"),
                attempts=bp("b_attempts"),
                updated_at=bp("b_now"),
                lease_owner=None,
                lease_until=None,
                last_reason=bp("b_reason"),
                last_error=bp("b_error"),
                last_status_code=bp("b_status_code"),
                response_summary=bp("b_summary"),
                version=D.c.version + 1,
                next_attempt_at=sa.func.coalesce(
                    bp("b_next", type_=sa.Double()), D.c.next_attempt_at
                ),
                finished_at=bp("b_finished", type_=sa.Double()),
            )
        )
        conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in results])

    def release(self, ids: Sequence[int], owner: str) -> int:
        """Hand rows back unsent (a stopping worker): due again at once, attempt not counted."""
        if not ids:
            return 0
        with self.db.begin() as conn:
            owned = (D.c.id.in_(list(ids)), D.c.lease_owner == owner)
            return hand_back(conn, self.clock.now(), *owned)

    def next_due(self) -> float | None:
        """When the earliest pending or leased row becomes due (``None``: nothing open)."""
        with self.db.connect() as conn:
            pending = conn.execute(
                sa.select(sa.func.min(D.c.next_attempt_at)).where(
                    D.c.status == DeliveryStatus.PENDING.value
                )
            ).scalar()
            leased = conn.execute(
                sa.select(sa.func.min(D.c.lease_until)).where(
                    D.c.status == DeliveryStatus.SENDING.value
                )
            ).scalar()
        times = [float(t) for t in (pending, leased) if t is not None]
        return min(times) if times else None

    # -- reading -------------------------------------------------------------------------

    def depth(self) -> dict[DeliveryStatus, int]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(D.c.status, sa.func.count()).group_by(D.c.status)).all()
        out = dict.fromkeys(DeliveryStatus, 0)
        for status, count in rows:
            out[DeliveryStatus(status)] = int(count)
        return out

    def get(self, delivery_id: int) -> Delivery:
        page = self.list_deliveries(delivery_id=delivery_id, limit=1)
        if not page.items:
            raise NotFoundError(f"no delivery with id {delivery_id}")
        return page.items[0]

    def list_deliveries(
        self,
        *,
        receiver: str | None = None,
        channel: str | None = None,
        status: DeliveryStatus | None = None,
        event: NotificationEvent | None = None,
        dedup_key: str | None = None,
        delivery_id: int | None = None,
        is_test: bool | None = None,
        since: float | None = None,
        until: float | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Page[Delivery]:
        """Deliveries, newest first, filtered; ``before`` is the cursor of the next page."""
        query = sa.select(D, M.c.is_test).join(M, M.c.id == D.c.message_id)
        conds: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (D.c.receiver, receiver),
            (D.c.channel, channel),
            (D.c.status, status.value if status else None),
            (D.c.event, event.value if event else None),
            (D.c.dedup_key, dedup_key),
            (D.c.id, delivery_id),
        ):
            if value is not None:
                conds.append(column == value)
        if is_test is not None:
            conds.append(M.c.is_test == is_test)
        if since is not None:
            conds.append(D.c.created_at >= since)
        if until is not None:
            conds.append(D.c.created_at < until)
        if before is not None:
            conds.append(D.c.id < before)
        limit = max(1, min(limit, 1000))
        query = query.where(*conds).order_by(D.c.id.desc()).limit(limit + 1)
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        items = [_delivery(r) for r in rows[:limit]]
        return Page(items, items[-1].id if len(rows) > limit else None)

    def message_of(self, delivery_id: int) -> NotificationMessage:
        with self.db.connect() as conn:
            payload = conn.execute(
                sa.select(M.c.payload)
                .join(D, D.c.message_id == M.c.id)
                .where(D.c.id == delivery_id)
            ).scalar()
        if payload is None:
            raise NotFoundError(f"no delivery with id {delivery_id}")
        return NotificationMessage.from_json(payload)

    def prune(self, older_than: float) -> int:
        """Delete finished deliveries, their messages and log rows older than a time."""
        with self.db.begin() as conn:
            open_messages = sa.select(D.c.message_id).where(D.c.status.in_(_OPEN))
            removed = conn.execute(
                M.delete().where(M.c.created_at < older_than, M.c.id.not_in(open_messages))
            ).rowcount
            conn.execute(
                D.delete().where(D.c.status.not_in(_OPEN), D.c.message_id.not_in(sa.select(M.c.id)))
            )
            conn.execute(notify_delivery_log.delete().where(notify_delivery_log.c.at < older_than))
            conn.execute(
                notify_channel_state.delete().where(notify_channel_state.c.updated_at < older_than)
            )
        return int(removed)


def wants(config: Any, event: NotificationEvent) -> bool:
    """Whether a channel config takes an event: its own ``wants(event)`` if it has one,
    else every event but ``resolved`` without ``send_resolved`` (Alertmanager's rule)."""
    method = getattr(config, "wants", None)
    if callable(method):
        return bool(method(event))
    return event is not NotificationEvent.RESOLVED or bool(getattr(config, "send_resolved", True))


def _delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        message_id=r["message_id"],
        receiver=r["receiver"],
        channel=r["channel"],
        integration=r["integration"],
        group_id=r["group_id"],
        dedup_key=r["dedup_key"],
        event=NotificationEvent(r["event"]),
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        next_attempt_at=r["next_attempt_at"],
        finished_at=r["finished_at"],
        last_reason=DeliveryFailure(r["last_reason"]) if r["last_reason"] else None,
        last_error=r["last_error"],
        last_status_code=r["last_status_code"],
        response_summary=r["response_summary"],
        is_test=bool(r["is_test"]),
    )


def dumps_state(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, default=str)


def hand_back(conn: Connection, now: float, *where: sa.ColumnElement[bool]) -> int:
    """Hand the leased rows that match ``where`` back unsent: due again at ``now``, the
    interrupted attempt not counted; returns how many."""
    result = conn.execute(
        D.update()
        .where(D.c.status == DeliveryStatus.SENDING.value, *where)
        .values(
            status=DeliveryStatus.PENDING.value,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=now,
            updated_at=now,
            version=D.c.version + 1,
        )
    )
    return int(result.rowcount)


@cache
def _candidates_query() -> sa.Select[tuple[int, str, str | None, str | None]]:
    """:meth:`SqlOutbox.candidates`' statement, built once with the time and the limit as
    parameters: the idle worker runs it every poll, and building it cost more than
    running it."""
    now = sa.bindparam("now", type_=sa.Float)
    return (
        sa.select(D.c.id, D.c.receiver, D.c.channel, D.c.integration)
        .where(SqlOutbox._due(now), ~SqlOutbox._blocked())
        .order_by(D.c.next_attempt_at, D.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
