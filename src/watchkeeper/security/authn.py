"""Authentication: who is behind a request (session cookie or API token), logging in and
logging out. Framework-free; :mod:`watchkeeper.web.auth` calls it from the middleware and
the login routes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from watchkeeper.core.errors import AuthenticationError
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.permissions import ROLE_PERMISSIONS, Role
from watchkeeper.security.principal import Principal, PrincipalKind, anonymous_principal
from watchkeeper.security.ratelimit import LoginRateLimiter
from watchkeeper.security.sessions import SessionInfo, SessionStore
from watchkeeper.security.tokens import TokenStore
from watchkeeper.security.users import UserStore
from watchkeeper.state.db import Database

INVALID_LOGIN = "wrong user name or password (or the account is disabled)"


@dataclass(frozen=True, slots=True)
class Login:
    token: str  # for the session cookie
    session: SessionInfo
    principal: Principal


def session_principal(session: SessionInfo) -> Principal:
    return Principal(
        name=session.username,
        kind=PrincipalKind.USER,
        role=session.role,
        permissions=ROLE_PERMISSIONS[session.role],
        user_id=session.user_id,
    )


class Authenticator:
    def __init__(
        self,
        *,
        users: UserStore,
        sessions: SessionStore,
        tokens: TokenStore,
        limiter: LoginRateLimiter,
        audit: AuditLog,
        anonymous_role: Role | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.tokens = tokens
        self.limiter = limiter
        self._audit = audit
        self.anonymous = anonymous_principal(anonymous_role)

    def from_session(self, conn: Connection, token: str) -> tuple[Principal, SessionInfo] | None:
        session = self.sessions.resolve(conn, token)
        if session is None:
            return None
        return session_principal(session), session

    def from_bearer(self, conn: Connection, token: str) -> Principal | None:
        return self.tokens.authenticate(conn, token)

    def login(self, conn: Connection, username: str, password: str, remote_addr: str) -> Login:
        """Check the rate limit, then the password; start a session. Raises
        :class:`~watchkeeper.security.ratelimit.LoginRateLimitedError` or
        :class:`AuthenticationError`; the caller records a failure with
        :meth:`record_failure` in another transaction (or uses :meth:`login_in`)."""
        username = username.strip()
        self.limiter.check(conn, username, remote_addr)
        user = self.users.authenticate(conn, username, password)
        if user is None:
            raise AuthenticationError(INVALID_LOGIN)
        self.limiter.clear_user(conn, username)
        token, session = self.sessions.create(conn, user.id, remote_addr=remote_addr)
        principal = session_principal(session)
        self._audit.record(
            conn,
            principal,
            AuditAction.SESSIONS_CREATE,
            f"user:{user.username}",
            detail={"session": session.id},
            remote_addr=remote_addr,
        )
        return Login(token=token, session=session, principal=principal)

    def record_failure(self, conn: Connection, username: str, remote_addr: str) -> None:
        self.limiter.record_failure(conn, username.strip(), remote_addr)

    def login_in(self, db: Database, username: str, password: str, remote_addr: str) -> Login:
        """:meth:`login` in its own transaction; a wrong password is then recorded in a
        second one (the first rolls back)."""
        try:
            with db.begin() as conn:
                return self.login(conn, username, password, remote_addr)
        except AuthenticationError:
            with db.begin() as conn:
                self.record_failure(conn, username, remote_addr)
            raise

    def logout(self, conn: Connection, token: str, principal: Principal, remote_addr: str) -> bool:
        session = self.sessions.resolve(conn, token)
        if session is None:
            return False
        self.sessions.delete(conn, token)
        self._audit.record(
            conn,
            principal,
            AuditAction.SESSIONS_DELETE,
            f"user:{session.username}",
            detail={"session": session.id},
            remote_addr=remote_addr,
        )
        return True
