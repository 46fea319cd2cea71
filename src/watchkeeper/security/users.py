"""User accounts: create, list, change role, disable, change password, authenticate.

Every change is audited in the caller's transaction. The last enabled admin cannot be
disabled or demoted, so an installation cannot lock itself out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.core.errors import ConflictError, NotFoundError, UserInputError
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.passwords import Passwords, check_password
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import Principal
from watchkeeper.state.tables.security import auth_sessions, users

_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    disabled: bool
    created_ms: int
    updated_ms: int
    password_changed_ms: int

    def public(self) -> dict[str, Any]:
        """What the audit log digests and the API returns (never the password hash)."""
        return {"username": self.username, "role": self.role.value, "disabled": self.disabled}


def check_username(username: str) -> str:
    if not _USERNAME_RE.match(username):
        raise UserInputError(
            f"user name {username!r} is not valid; use 1-64 letters, digits, '.', '_', '@' or "
            "'-', starting with a letter or digit"
        )
    return username


class UserStore:
    def __init__(self, *, passwords: Passwords, audit: AuditLog, clock: Clock) -> None:
        self.passwords = passwords
        self._audit = audit
        self._clock = clock

    # --- reading ---

    def get(self, conn: Connection, username: str) -> User:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"no user named {username!r}; `watchkeeper user list` shows them")
        return _user(row)

    def get_by_id(self, conn: Connection, user_id: int) -> User | None:
        row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user(row) if row is not None else None

    def list(self, conn: Connection) -> list[User]:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.username))]

    def count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    # --- changing ---

    def create(
        self,
        conn: Connection,
        actor: Principal,
        username: str,
        password: str,
        role: Role,
        *,
        remote_addr: str = "",
    ) -> User:
        check_username(username)
        check_password(password, username)
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
            raise ConflictError(f"user {username!r} already exists")
        now = now_ms(self._clock)
        new_id = conn.execute(
            sa.insert(users)
            .values(
                username=username,
                password_hash=self.passwords.hash(password),
                role=role.value,
                disabled=False,
                created_ms=now,
                updated_ms=now,
                password_changed_ms=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        user = self.get_by_id(conn, int(new_id))
        if user is None:  # pragma: no cover - the row was just inserted
            raise NotFoundError(f"user {username!r} vanished while being created")
        self._audit.record(
            conn,
            actor,
            AuditAction.USERS_CREATE,
            f"user:{username}",
            after=user.public(),
            detail={"role": role.value},
            remote_addr=remote_addr,
        )
        return user

    def set_role(
        self,
        conn: Connection,
        actor: Principal,
        username: str,
        role: Role,
        *,
        remote_addr: str = "",
    ) -> User:
        before = self.get(conn, username)
        if before.role is role:
            return before
        if before.role is Role.ADMIN and not before.disabled:
            self._keep_an_admin(conn, before)
        after = self._update(conn, before, role=role.value)
        self._audit.record(
            conn,
            actor,
            AuditAction.USERS_ROLE,
            f"user:{username}",
            before=before.public(),
            after=after.public(),
            detail={"from": before.role.value, "to": role.value},
            remote_addr=remote_addr,
        )
        return after

    def set_disabled(
        self,
        conn: Connection,
        actor: Principal,
        username: str,
        disabled: bool,
        *,
        remote_addr: str = "",
    ) -> User:
        before = self.get(conn, username)
        if before.disabled == disabled:
            return before
        if disabled and before.role is Role.ADMIN:
            self._keep_an_admin(conn, before)
        after = self._update(conn, before, disabled=disabled)
        if disabled:
            conn.execute(sa.delete(auth_sessions).where(auth_sessions.c.user_id == before.id))
        self._audit.record(
            conn,
            actor,
            AuditAction.USERS_DISABLE if disabled else AuditAction.USERS_ENABLE,
            f"user:{username}",
            before=before.public(),
            after=after.public(),
            remote_addr=remote_addr,
        )
        return after

    def set_password(
        self,
        conn: Connection,
        actor: Principal,
        username: str,
        password: str,
        *,
        remote_addr: str = "",
    ) -> User:
        """Change a password and end every session of that user."""
        before = self.get(conn, username)
        check_password(password, username)
        now = now_ms(self._clock)
        after = self._update(
            conn, before, password_hash=self.passwords.hash(password), password_changed_ms=now
        )
        conn.execute(sa.delete(auth_sessions).where(auth_sessions.c.user_id == before.id))
        self._audit.record(
            conn,
            actor,
            AuditAction.USERS_PASSWORD,
            f"user:{username}",
            remote_addr=remote_addr,
        )
        return after

    def authenticate(self, conn: Connection, username: str, password: str) -> User | None:
        """The user when the password matches and the account is enabled, else ``None``.
        A hash made with older parameters is replaced by one with the current ones."""
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            self.passwords.verify_nothing(password)
            return None
        stored = str(row.password_hash)
        if not self.passwords.verify(stored, password) or row.disabled:
            return None
        if self.passwords.needs_rehash(stored):
            conn.execute(
                sa.update(users)
                .where(users.c.id == row.id)
                .values(password_hash=self.passwords.hash(password))
            )
        return _user(row)

    def _update(self, conn: Connection, user: User, **values: Any) -> User:
        conn.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(**values, updated_ms=now_ms(self._clock))
        )
        updated = self.get_by_id(conn, user.id)
        if updated is None:
            raise NotFoundError(f"user {user.username!r} was deleted meanwhile")
        return updated

    def _keep_an_admin(self, conn: Connection, leaving: User) -> None:
        # Lock the enabled admins (PostgreSQL; SQLite holds the write lock already) so two
        # admins demoting each other at once cannot both succeed.
        admins = conn.execute(
            sa.select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.disabled.is_(False))
            .with_for_update()
        ).scalars()
        if not [i for i in admins if i != leaving.id]:
            raise ConflictError(
                f"{leaving.username!r} is the last enabled admin; make another user admin "
                "first, or nobody could manage users any more"
            )


def _user(row: sa.Row[Any]) -> User:
    return User(
        id=int(row.id),
        username=str(row.username),
        role=Role(row.role),
        disabled=bool(row.disabled),
        created_ms=int(row.created_ms),
        updated_ms=int(row.updated_ms),
        password_changed_ms=int(row.password_changed_ms),
    )
