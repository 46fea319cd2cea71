"""API tokens: scoped to a role and optionally narrowed to some of its permissions, stored
as SHA-256 digests, shown once at creation, with expiry and revocation.

A token looks like ``wk_<43 characters>``; it carries 256 random bits, so a fast digest is
as safe as a slow password hash and keeps each API request cheap."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock, now_ms, rfc3339
from watchkeeper.core.errors import ConflictError, NotFoundError, UserInputError
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    scoped_permissions,
)
from watchkeeper.security.principal import Principal, PrincipalKind
from watchkeeper.state.tables.security import api_tokens

TOKEN_PREFIX = "wk_"  # noqa: S105  (the public prefix of every token, not a credential)
_SHOWN_PREFIX = 10  # characters kept in clear to tell tokens apart in lists
_TOUCH_EVERY_MS = 60_000

MAX_TOKEN_LIFETIME = 36500 * 86400.0  # 100 years; longer lifetimes overflow ms counters


class TokenStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    role: Role
    scopes: frozenset[Permission] | None
    created_by: str
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None
    last_used_ms: int | None

    def status(self, at_ms: int) -> TokenStatus:
        if self.revoked_ms is not None:
            return TokenStatus.REVOKED
        if self.expires_ms is not None and at_ms >= self.expires_ms:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    @property
    def permissions(self) -> frozenset[Permission]:
        """The role's permissions, narrowed to the scopes (if the role table later drops a
        scoped permission from the role, the token loses it too)."""
        granted = ROLE_PERMISSIONS[self.role]
        return granted if self.scopes is None else granted & self.scopes

    def public(self, at_ms: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "role": self.role.value,
            "scopes": sorted(p.value for p in self.scopes) if self.scopes is not None else None,
            "created_by": self.created_by,
            "created": rfc3339(self.created_ms / 1000),
            "expires": rfc3339(self.expires_ms / 1000) if self.expires_ms else None,
            "revoked": rfc3339(self.revoked_ms / 1000) if self.revoked_ms else None,
            "last_used": rfc3339(self.last_used_ms / 1000) if self.last_used_ms else None,
            "status": self.status(at_ms).value,
        }


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, *, audit: AuditLog, clock: Clock) -> None:
        self._audit = audit
        self._clock = clock

    def now_ms(self) -> int:
        return now_ms(self._clock)

    def create(
        self,
        conn: Connection,
        actor: Principal,
        name: str,
        role: Role,
        *,
        scopes: frozenset[Permission] | None = None,
        expires_in: float | None = None,
        remote_addr: str = "",
    ) -> tuple[str, ApiToken]:
        """A new token; the plaintext is returned here and never again."""
        name = name.strip()
        if not name or len(name) > 100:
            raise UserInputError("a token needs a name of 1-100 characters (what it is for)")
        scoped_permissions(role, scopes)  # raises when the scope exceeds the role
        if expires_in is not None and expires_in <= 0:
            raise UserInputError("token expiry must be in the future (e.g. 90d)")
        if expires_in is not None and expires_in > MAX_TOKEN_LIFETIME:
            raise UserInputError(
                "token expiry must be at most 100 years (36500d); omit it for a token that "
                "does not expire"
            )
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now_ms(self._clock)
        new_id = conn.execute(
            sa.insert(api_tokens)
            .values(
                name=name,
                prefix=plaintext[:_SHOWN_PREFIX],
                token_hash=token_digest(plaintext),
                role=role.value,
                scopes=" ".join(sorted(p.value for p in scopes)) if scopes is not None else None,
                created_by=actor.name[:200],
                created_ms=now,
                expires_ms=now + int(expires_in * 1000) if expires_in is not None else None,
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
        token = self.get(conn, int(new_id))
        self._audit.record(
            conn,
            actor,
            AuditAction.TOKENS_CREATE,
            f"token:{token.id}",
            after=token.public(now),
            detail={"name": name, "role": role.value, "scopes": token.public(now)["scopes"]},
            remote_addr=remote_addr,
        )
        return plaintext, token

    def get(self, conn: Connection, token_id: int) -> ApiToken:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(f"no API token with id {token_id}; `watchkeeper token list`")
        return _token(row)

    def list(self, conn: Connection, *, include_inactive: bool = True) -> list[ApiToken]:
        tokens = [_token(r) for r in conn.execute(sa.select(api_tokens).order_by(api_tokens.c.id))]
        if include_inactive:
            return tokens
        now = now_ms(self._clock)
        return [t for t in tokens if t.status(now) is TokenStatus.ACTIVE]

    def find(self, conn: Connection, ref: str) -> ApiToken:
        """A token by id, or by name when exactly one active token has it."""
        if ref.isdigit():
            return self.get(conn, int(ref))
        matches = [t for t in self.list(conn, include_inactive=False) if t.name == ref]
        if not matches:
            raise NotFoundError(f"no active API token named {ref!r}")
        if len(matches) > 1:
            ids = ", ".join(str(t.id) for t in matches)
            raise ConflictError(f"several active tokens are named {ref!r} (ids {ids}); use an id")
        return matches[0]

    def revoke(
        self, conn: Connection, actor: Principal, token_id: int, *, remote_addr: str = ""
    ) -> ApiToken:
        before = self.get(conn, token_id)
        if before.revoked_ms is not None:
            return before
        now = now_ms(self._clock)
        conn.execute(
            sa.update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_ms=now)
        )
        after = self.get(conn, token_id)
        self._audit.record(
            conn,
            actor,
            AuditAction.TOKENS_REVOKE,
            f"token:{token_id}",
            before=before.public(now),
            after=after.public(now),
            detail={"name": before.name},
            remote_addr=remote_addr,
        )
        return after

    def authenticate(self, conn: Connection, plaintext: str) -> Principal | None:
        """The principal of an active token, or ``None`` (unknown, revoked, expired)."""
        if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 128:
            return None
        row = conn.execute(
            sa.select(api_tokens).where(api_tokens.c.token_hash == token_digest(plaintext))
        ).first()
        if row is None:
            return None
        token = _token(row)
        now = now_ms(self._clock)
        if token.status(now) is not TokenStatus.ACTIVE:
            return None
        if token.last_used_ms is None or now - token.last_used_ms >= _TOUCH_EVERY_MS:
            conn.execute(
                sa.update(api_tokens).where(api_tokens.c.id == token.id).values(last_used_ms=now)
            )
        return Principal(
            name=f"token:{token.name}",
            kind=PrincipalKind.TOKEN,
            role=token.role,
            permissions=token.permissions,
            token_id=token.id,
        )


def _token(row: sa.Row[Any]) -> ApiToken:
    scopes = (
        frozenset(Permission(p) for p in str(row.scopes).split())
        if row.scopes is not None
        else None
    )
    return ApiToken(
        id=int(row.id),
        name=str(row.name),
        prefix=str(row.prefix),
        role=Role(row.role),
        scopes=scopes,
        created_by=str(row.created_by),
        created_ms=int(row.created_ms),
        expires_ms=int(row.expires_ms) if row.expires_ms is not None else None,
        revoked_ms=int(row.revoked_ms) if row.revoked_ms is not None else None,
        last_used_ms=int(row.last_used_ms) if row.last_used_ms is not None else None,
    )
