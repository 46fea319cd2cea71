"""Key rotation: re-encrypt every encrypted column under a new key in one transaction.

Before: values are under one or more old keys (all in the ring). After: every value is
under the new key, so the old keys can be dropped from the ring. The audit record of the
rotation is written in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.errors import StorageError
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.columns import encrypted_columns
from watchkeeper.security.crypto import SecretBox, key_id_of
from watchkeeper.security.principal import Principal
from watchkeeper.state.metadata import metadata

_BATCH = 500


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_key_id: str
    retired_key_ids: tuple[str, ...]
    values: int
    columns: dict[str, int] = field(default_factory=dict)


def key_usage(conn: Connection, meta: sa.MetaData = metadata) -> dict[str, int]:
    """How many stored values each key id encrypts, over every encrypted column."""
    usage: dict[str, int] = {}
    for enc in encrypted_columns(meta):
        for value in conn.execute(sa.select(enc.column).where(enc.column.is_not(None))).scalars():
            kid = key_id_of(str(value))
            usage[kid] = usage.get(kid, 0) + 1
    return usage


def reencrypt_all(
    conn: Connection,
    box: SecretBox,
    *,
    audit: AuditLog,
    actor: Principal,
    remote_addr: str = "",
    meta: sa.MetaData = metadata,
) -> RotationReport:
    """Re-encrypt every value of every encrypted column under ``box``'s primary key, on
    ``conn`` (the caller's transaction). ``box`` holds the new key first and every key the
    stored values may be under after it (``ring.with_new_primary(new_key)``)."""
    before = key_usage(conn, meta)
    columns: dict[str, int] = {}
    for enc in encrypted_columns(meta):
        pk_cols = list(enc.table.primary_key.columns)
        if len(pk_cols) != 1:
            raise StorageError(
                f"{enc.context}: key rotation needs a single-column primary key on {enc.table.name}"
            )
        pk = pk_cols[0]
        count = 0
        last: object = None
        while True:
            q = sa.select(pk, enc.column).where(enc.column.is_not(None)).order_by(pk).limit(_BATCH)
            if last is not None:
                q = q.where(pk > last)
            rows = conn.execute(q).all()
            for key, value in rows:
                plain = box.decrypt(str(value), enc.context)
                conn.execute(
                    sa.update(enc.table)
                    .where(pk == key)
                    .values({enc.column.name: box.encrypt(plain, enc.context)})
                )
                count += 1
            if len(rows) < _BATCH:
                break
            last = rows[-1][0]
        columns[enc.context] = count
    retired = tuple(sorted(k for k in before if k != box.primary_key_id))
    report = RotationReport(
        new_key_id=box.primary_key_id,
        retired_key_ids=retired,
        values=sum(columns.values()),
        columns=columns,
    )
    audit.record(
        conn,
        actor,
        AuditAction.SECRETS_ROTATE_KEY,
        "secrets:key",
        detail={
            "new_key_id": report.new_key_id,
            "retired_key_ids": list(report.retired_key_ids),
            "values": report.values,
        },
        remote_addr=remote_addr,
    )
    return report
