"""Login sessions, kept as server-side rows.

The browser holds a random session token in an HttpOnly cookie; the database holds only
its SHA-256, so a copy of the database does not log anyone in. A session ends at its
lifetime, after its idle timeout, on logout, when its user is disabled or changes password.
Each session has its own CSRF token, which every state-changing request must present.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.security.config import SessionConfig
from watchkeeper.security.permissions import Role
from watchkeeper.state.tables.security import auth_sessions, users

# last_seen is written at most this often (ms) per session, not on every request.
_TOUCH_EVERY_MS = 60_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    user_id: int
    username: str
    role: Role
    csrf_token: str
    created_ms: int
    last_seen_ms: int
    expires_ms: int  # the absolute end; the idle timeout may end it sooner


class SessionStore:
    def __init__(self, config: SessionConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock

    def create(
        self, conn: Connection, user_id: int, *, remote_addr: str = ""
    ) -> tuple[str, SessionInfo]:
        """A new session; returns the token for the cookie (shown nowhere else)."""
        token = secrets.token_urlsafe(32)
        now = now_ms(self._clock)
        conn.execute(
            sa.insert(auth_sessions).values(
                token_hash=token_digest(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_ms=now,
                last_seen_ms=now,
                expires_ms=now + int(self.config.lifetime * 1000),
                remote_addr=remote_addr[:64],
            )
        )
        info = self.resolve(conn, token)
        if info is None:  # pragma: no cover - just inserted, for an enabled user
            raise RuntimeError("a new session could not be read back")
        return token, info

    def resolve(self, conn: Connection, token: str) -> SessionInfo | None:
        """The live session for a cookie value, or ``None`` (unknown, expired, idle too
        long, or its user disabled). Dead sessions found this way are deleted."""
        if not token or len(token) > 128:
            return None
        row = conn.execute(
            sa.select(
                auth_sessions,
                users.c.username,
                users.c.role,
                users.c.disabled,
            )
            .join(users, users.c.id == auth_sessions.c.user_id)
            .where(auth_sessions.c.token_hash == token_digest(token))
        ).first()
        if row is None:
            return None
        now = now_ms(self._clock)
        idle_ms = int(self.config.idle_timeout * 1000)
        if row.disabled or now >= row.expires_ms or now - row.last_seen_ms >= idle_ms:
            conn.execute(sa.delete(auth_sessions).where(auth_sessions.c.id == row.id))
            return None
        last_seen = int(row.last_seen_ms)
        if now - last_seen >= min(_TOUCH_EVERY_MS, idle_ms // 10):
            conn.execute(
                sa.update(auth_sessions)
                .where(auth_sessions.c.id == row.id)
                .values(last_seen_ms=now)
            )
            last_seen = now
        return _info(row, last_seen)

    def delete(self, conn: Connection, token: str) -> bool:
        result = conn.execute(
            sa.delete(auth_sessions).where(auth_sessions.c.token_hash == token_digest(token))
        )
        return bool(result.rowcount)

    def delete_for_user(self, conn: Connection, user_id: int) -> int:
        result = conn.execute(sa.delete(auth_sessions).where(auth_sessions.c.user_id == user_id))
        return int(result.rowcount)

    def purge_expired(self, conn: Connection) -> int:
        """Delete every session past its lifetime or idle timeout (housekeeping)."""
        now = now_ms(self._clock)
        idle_ms = int(self.config.idle_timeout * 1000)
        result = conn.execute(
            sa.delete(auth_sessions).where(
                sa.or_(
                    auth_sessions.c.expires_ms <= now,
                    auth_sessions.c.last_seen_ms <= now - idle_ms,
                )
            )
        )
        return int(result.rowcount)


def _info(row: sa.Row[Any], last_seen: int) -> SessionInfo:
    return SessionInfo(
        id=int(row.id),
        user_id=int(row.user_id),
        username=str(row.username),
        role=Role(row.role),
        csrf_token=str(row.csrf_token),
        created_ms=int(row.created_ms),
        last_seen_ms=last_seen,
        expires_ms=int(row.expires_ms),
    )
