"""The audit log: every change, who made it, when, from where, with before/after digests.

Records are written with :meth:`AuditLog.record` on the caller's connection, inside the
transaction that makes the change, so a change and its record commit or roll back together.
Each record carries the hash of the one before it (a hash chain); :meth:`AuditLog.verify`
recomputes the chain and names the first row that does not match.

The chain stays linear with several writers (threads, processes, cluster instances): a
writer first updates the one ``audit_head`` row. That update takes the row lock on
PostgreSQL and the write lock on SQLite, so the next writer waits until this transaction
commits or rolls back, then reads the head this one left.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock, now_ms, rfc3339
from watchkeeper.security.principal import Principal
from watchkeeper.state.tables.security import audit_head, audit_log

GENESIS_HASH = "0" * 64
_HEAD_ID = 1


class AuditAction(StrEnum):
    """What happened, as ``resource:verb``. Areas add their actions here."""

    SESSIONS_CREATE = "sessions:create"  # log in
    SESSIONS_DELETE = "sessions:delete"  # log out
    USERS_CREATE = "users:create"
    USERS_ROLE = "users:role"
    USERS_DISABLE = "users:disable"
    USERS_ENABLE = "users:enable"
    USERS_PASSWORD = "users:password"  # noqa: S105  (an action name)
    TOKENS_CREATE = "tokens:create"
    TOKENS_REVOKE = "tokens:revoke"
    SECRETS_WRITE = "secrets:write"
    SECRETS_DELETE = "secrets:delete"
    SECRETS_ROTATE_KEY = "secrets:rotate-key"
    ALERTS_ACK = "alerts:ack"
    ALERTS_UNACK = "alerts:unack"
    ALERTS_RESOLVE = "alerts:resolve"
    ALERTS_CREATE = "alerts:create"
    ALERTS_LABEL = "alerts:label"  # an operator's verdict on a resolved alert
    SILENCES_CREATE = "silences:create"
    SILENCES_UPDATE = "silences:update"
    SILENCES_EXPIRE = "silences:expire"
    MAINTENANCE_CREATE = "maintenance:create"
    MAINTENANCE_UPDATE = "maintenance:update"
    MAINTENANCE_DELETE = "maintenance:delete"
    ONCALL_OVERRIDES_CREATE = "oncall-overrides:create"
    ONCALL_OVERRIDES_DELETE = "oncall-overrides:delete"
    ESCALATIONS_UPDATE = "escalations:update"
    NOTIFICATIONS_TEST = "notifications:test"
    RECEIVERS_WRITE = "receivers:write"
    READINESS_RUN = "readiness:run"
    CONFIG_RELOAD = "config:reload"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    ts_ms: int
    actor: str
    actor_kind: str
    action: str
    target: str
    remote_addr: str
    before_digest: str | None
    after_digest: str | None
    detail: str  # canonical JSON
    prev_hash: str
    hash: str

    @property
    def time(self) -> str:
        return rfc3339(self.ts_ms / 1000)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = self.time
        out["detail"] = json.loads(self.detail)
        return out


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str | None:
    """SHA-256 of a value's canonical JSON; ``None`` stays ``None`` (nothing before a
    creation, nothing after a deletion)."""
    if value is None:
        return None
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    body = canonical_json([prev_hash, *(fields[name] for name in _HASHED)])
    return hashlib.sha256(body.encode()).hexdigest()


_HASHED = (
    "seq",
    "ts_ms",
    "actor",
    "actor_kind",
    "action",
    "target",
    "remote_addr",
    "before_digest",
    "after_digest",
    "detail",
)


class AuditLog:
    """Writes, reads and verifies the audit chain. Stateless apart from the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(
        self,
        conn: Connection,
        principal: Principal,
        action: AuditAction,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: Mapping[str, Any] | None = None,
        remote_addr: str = "",
    ) -> AuditRecord:
        """Append a record in the caller's transaction. ``before``/``after`` are stored as
        digests only; ``detail`` is stored as is, so it must never hold a secret."""
        if not isinstance(action, AuditAction):
            raise TypeError(f"audit action must be an AuditAction, not {action!r}")
        seq, prev_hash = self._advance_head(conn)
        fields: dict[str, Any] = {
            "seq": seq,
            "ts_ms": now_ms(self._clock),
            "actor": principal.name[:200],
            "actor_kind": principal.kind.value,
            "action": action.value,
            "target": target[:300],
            "remote_addr": (remote_addr or "")[:64],
            "before_digest": digest(before),
            "after_digest": digest(after),
            "detail": canonical_json(dict(detail or {})),
        }
        new_hash = chain_hash(prev_hash, fields)
        conn.execute(sa.update(audit_head).where(audit_head.c.id == _HEAD_ID).values(hash=new_hash))
        conn.execute(sa.insert(audit_log).values(**fields, prev_hash=prev_hash, hash=new_hash))
        return AuditRecord(**fields, prev_hash=prev_hash, hash=new_hash)

    def _advance_head(self, conn: Connection) -> tuple[int, str]:
        bump = (
            sa.update(audit_head)
            .where(audit_head.c.id == _HEAD_ID)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.hash)
        )
        row = conn.execute(bump).first()
        if row is None:  # a schema made by create_all rather than the migration
            conn.execute(sa.insert(audit_head).values(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
            row = conn.execute(bump).one()
        return int(row.seq), str(row.hash)

    def list(
        self,
        conn: Connection,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> list[AuditRecord]:
        q = sa.select(audit_log).where(audit_log.c.seq > after_seq)
        if before_seq is not None:
            q = q.where(audit_log.c.seq < before_seq)
        if actor:
            q = q.where(audit_log.c.actor == actor)
        if action:
            q = q.where(audit_log.c.action == action)
        if target:
            q = q.where(audit_log.c.target == target)
        order = audit_log.c.seq.desc() if newest_first else audit_log.c.seq.asc()
        rows = conn.execute(q.order_by(order).limit(max(1, min(limit, 10_000))))
        return [_record(r) for r in rows]

    def iter_all(self, conn: Connection, *, batch: int = 1000) -> Iterator[AuditRecord]:
        after = 0
        while True:
            page = self.list(conn, after_seq=after, limit=batch)
            yield from page
            if len(page) < batch:
                return
            after = page[-1].seq

    def verify(self, conn: Connection) -> VerifyResult:
        """Recompute the chain; the first row that does not match is named."""
        prev_seq, prev_hash, checked = 0, GENESIS_HASH, 0
        for rec in self.iter_all(conn):
            where = f"audit row {rec.seq} ({rec.time}, {rec.actor}, {rec.action} {rec.target})"
            if rec.seq != prev_seq + 1:
                return _broken(
                    checked, prev_seq + 1, f"audit rows {prev_seq + 1}..{rec.seq - 1} are missing"
                )
            if rec.prev_hash != prev_hash:
                return _broken(
                    checked, rec.seq, f"{where}: does not link to row {prev_seq} before it"
                )
            if chain_hash(prev_hash, asdict(rec)) != rec.hash:
                return _broken(
                    checked,
                    rec.seq,
                    f"{where}: its contents do not match its hash; it was changed after it "
                    "was written",
                )
            prev_seq, prev_hash, checked = rec.seq, rec.hash, checked + 1
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == _HEAD_ID)).first()
        head_seq = int(head.seq) if head is not None else 0
        head_hash = str(head.hash) if head is not None else GENESIS_HASH
        if head_seq != prev_seq or head_hash != prev_hash:
            return _broken(
                checked,
                prev_seq + 1,
                f"the chain ends at row {prev_seq} but its head records row {head_seq}: rows "
                "at the end were deleted",
            )
        return VerifyResult(ok=True, checked=checked)


def _broken(checked: int, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=checked, broken_seq=seq, problem=problem)


def _record(row: sa.Row[Any]) -> AuditRecord:
    m = row._mapping
    return AuditRecord(
        seq=int(m["seq"]),
        ts_ms=int(m["ts_ms"]),
        actor=m["actor"],
        actor_kind=m["actor_kind"],
        action=m["action"],
        target=m["target"],
        remote_addr=m["remote_addr"],
        before_digest=m["before_digest"],
        after_digest=m["after_digest"],
        detail=m["detail"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


CSV_FIELDS = (
    "seq",
    "time",
    "actor",
    "actor_kind",
    "action",
    "target",
    "remote_addr",
    "before_digest",
    "after_digest",
    "detail",
    "prev_hash",
    "hash",
)


def jsonl_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    for rec in records:
        yield canonical_json(rec.to_json()) + "\n"


def write_jsonl(records: Iterable[AuditRecord], out: TextIO) -> int:
    n = 0
    for line in jsonl_lines(records):
        out.write(line)
        n += 1
    return n


def csv_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    """The header line, then one line per record."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for rec in records:
        row = asdict(rec) | {"time": rec.time}
        writer.writerow([_csv_cell(row[f]) for f in CSV_FIELDS])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.getvalue():  # no records: the header alone
        yield buf.getvalue()


def write_csv(records: Iterable[AuditRecord], out: TextIO) -> int:
    count = 0

    def counted() -> Iterator[AuditRecord]:
        nonlocal count
        for rec in records:
            count += 1
            yield rec

    for line in csv_lines(counted()):
        out.write(line)
    return count


def _csv_cell(value: Any) -> str:
    """Cells a spreadsheet would run as a formula get a leading quote (OWASP's advice)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
