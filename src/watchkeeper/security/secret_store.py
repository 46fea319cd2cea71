"""Secrets kept in the state database (receiver credentials added through the API),
encrypted with the :class:`~watchkeeper.security.crypto.SecretBox`. Values go in and are
read by the code that needs them; the API and the logs only ever see names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.config.base import Secret
from watchkeeper.core.clock import Clock, now_ms, rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.crypto import SecretBox
from watchkeeper.security.principal import Principal
from watchkeeper.state.tables.security import stored_secrets

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
_TABLE = stored_secrets.name
_COLUMN = "value"
MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """Everything about a stored secret except its value."""

    name: str
    description: str
    created_ms: int
    updated_ms: int
    updated_by: str
    key_id: str

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "created": rfc3339(self.created_ms / 1000),
            "updated": rfc3339(self.updated_ms / 1000),
            "updated_by": self.updated_by,
        }


class SecretStore:
    def __init__(self, *, box: SecretBox, audit: AuditLog, clock: Clock) -> None:
        self._box = box
        self._audit = audit
        self._clock = clock

    def put(
        self,
        conn: Connection,
        actor: Principal,
        name: str,
        value: str | Secret,
        *,
        description: str = "",
        remote_addr: str = "",
    ) -> SecretInfo:
        """Create or replace a secret."""
        if not _NAME_RE.match(name):
            raise UserInputError(
                f"secret name {name!r} is not valid; use 1-200 letters, digits, and . _ : / -"
            )
        plain = value.reveal() if isinstance(value, Secret) else value
        if not plain:
            raise UserInputError(f"secret {name!r} needs a value")
        if len(plain.encode()) > MAX_SECRET_BYTES:
            raise UserInputError(f"secret {name!r} is larger than {MAX_SECRET_BYTES} bytes")
        sealed = self._box.encrypt_for(_TABLE, _COLUMN, plain)
        now = now_ms(self._clock)
        existing = conn.execute(
            sa.select(stored_secrets.c.id).where(stored_secrets.c.name == name)
        ).first()
        values = {
            "value": sealed,
            "description": description[:500],
            "updated_ms": now,
            "updated_by": actor.name[:200],
        }
        if existing is None:
            conn.execute(sa.insert(stored_secrets).values(name=name, created_ms=now, **values))
        else:
            conn.execute(
                sa.update(stored_secrets).where(stored_secrets.c.id == existing.id).values(**values)
            )
        self._audit.record(
            conn,
            actor,
            AuditAction.SECRETS_WRITE,
            f"secret:{name}",
            detail={"created": existing is None},
            remote_addr=remote_addr,
        )
        return self.info(conn, name)

    def get(self, conn: Connection, name: str) -> Secret:
        row = conn.execute(
            sa.select(stored_secrets.c.value).where(stored_secrets.c.name == name)
        ).first()
        if row is None:
            raise NotFoundError(f"no stored secret named {name!r}")
        return self._box.decrypt_for(_TABLE, _COLUMN, str(row.value))

    def info(self, conn: Connection, name: str) -> SecretInfo:
        row = conn.execute(sa.select(stored_secrets).where(stored_secrets.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no stored secret named {name!r}")
        return _info(row)

    def list(self, conn: Connection) -> list[SecretInfo]:
        rows = conn.execute(sa.select(stored_secrets).order_by(stored_secrets.c.name))
        return [_info(r) for r in rows]

    def delete(
        self, conn: Connection, actor: Principal, name: str, *, remote_addr: str = ""
    ) -> None:
        result = conn.execute(sa.delete(stored_secrets).where(stored_secrets.c.name == name))
        if not result.rowcount:
            raise NotFoundError(f"no stored secret named {name!r}")
        self._audit.record(
            conn, actor, AuditAction.SECRETS_DELETE, f"secret:{name}", remote_addr=remote_addr
        )


def _info(row: sa.Row[Any]) -> SecretInfo:
    return SecretInfo(
        name=str(row.name),
        description=str(row.description),
        created_ms=int(row.created_ms),
        updated_ms=int(row.updated_ms),
        updated_by=str(row.updated_by),
        key_id=str(row.value).split(":", 2)[1],
    )
