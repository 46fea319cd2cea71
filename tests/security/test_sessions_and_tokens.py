"""Login sessions (lifetime, idle timeout) and API tokens (scope, expiry, revocation), on a
fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.security.permissions import ROLE_PERMISSIONS, Permission, Role
from watchkeeper.security.principal import Principal, PrincipalKind
from watchkeeper.security.setup import SecurityServices
from watchkeeper.security.users import User
from watchkeeper.state.db import Database
from watchkeeper.state.tables.security import api_tokens, auth_sessions

MakeUser = Callable[..., User]
HOUR = 3600.0


def test_session_token_is_stored_as_a_digest_only(
    sec: SecurityServices,
    state_db: Database,
    make_user: MakeUser,
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        token, info = sec.sessions.create(conn, user.id, remote_addr="10.1.1.1")
        row = conn.execute(sa.select(auth_sessions)).one()
    assert token not in (row.token_hash, row.csrf_token)
    assert len(token) >= 40
    assert len(info.csrf_token) >= 40
    assert row.remote_addr == "10.1.1.1"


async def test_session_ends_after_the_idle_timeout(
    sec: SecurityServices,
    state_db: Database,
    fake_clock: FakeClock,
    make_user: MakeUser,
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        token, _ = sec.sessions.create(conn, user.id)
    await fake_clock.advance(2 * HOUR - 1)
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, token) is not None  # activity resets the idle timer
    await fake_clock.advance(2 * HOUR - 1)
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, token) is not None
    await fake_clock.advance(2 * HOUR)
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, token) is None
        assert conn.execute(sa.select(sa.func.count()).select_from(auth_sessions)).scalar() == 0


async def test_session_ends_at_its_lifetime_even_when_active(
    sec: SecurityServices,
    state_db: Database,
    fake_clock: FakeClock,
    make_user: MakeUser,
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        token, info = sec.sessions.create(conn, user.id)
    assert info.expires_ms == int((fake_clock.now() + 12 * HOUR) * 1000)
    for _ in range(11):
        await fake_clock.advance(HOUR)
        with state_db.begin() as conn:
            assert sec.sessions.resolve(conn, token) is not None
    await fake_clock.advance(HOUR)
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, token) is None


async def test_purge_removes_only_dead_sessions(
    sec: SecurityServices,
    state_db: Database,
    fake_clock: FakeClock,
    make_user: MakeUser,
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        sec.sessions.create(conn, user.id)
    await fake_clock.advance(3 * HOUR)
    with state_db.begin() as conn:
        fresh, _ = sec.sessions.create(conn, user.id)
        assert sec.sessions.purge_expired(conn) == 1
        assert sec.sessions.resolve(conn, fresh) is not None


def test_session_of_unknown_or_oversized_token_is_none(
    sec: SecurityServices, state_db: Database
) -> None:
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, "nope") is None
        assert sec.sessions.resolve(conn, "x" * 4096) is None
        assert sec.sessions.resolve(conn, "") is None


def test_api_token_is_shown_once_and_stored_as_a_digest(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, token = sec.tokens.create(conn, admin_actor, "ci", Role.OPERATOR)
        row = conn.execute(sa.select(api_tokens)).one()
        listed = sec.tokens.list(conn)
    assert plaintext.startswith("wk_")
    assert len(plaintext) > 40
    assert plaintext not in row.token_hash
    assert row.prefix == plaintext[:10]
    assert plaintext not in repr(listed)
    assert plaintext not in str(token.public(0))


def test_api_token_authenticates_as_its_role(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, token = sec.tokens.create(conn, admin_actor, "ci", Role.OPERATOR)
        principal = sec.tokens.authenticate(conn, plaintext)
    assert principal is not None
    assert principal.kind is PrincipalKind.TOKEN
    assert principal.name == "token:ci"
    assert principal.token_id == token.id
    assert principal.permissions == ROLE_PERMISSIONS[Role.OPERATOR]


def test_scoped_token_gets_only_its_scope(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, _ = sec.tokens.create(
            conn, admin_actor, "ingest", Role.ADMIN, scopes=frozenset({Permission.METRICS_WRITE})
        )
        principal = sec.tokens.authenticate(conn, plaintext)
    assert principal is not None
    assert principal.permissions == {Permission.METRICS_WRITE}
    assert not principal.can(Permission.METRICS_READ)


def test_token_scope_beyond_its_role_is_refused(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with (
        pytest.raises(UserInputError, match="role viewer does not have metrics:write"),
        state_db.begin() as conn,
    ):
        sec.tokens.create(
            conn, admin_actor, "x", Role.VIEWER, scopes=frozenset({Permission.METRICS_WRITE})
        )


def test_revoked_token_no_longer_authenticates(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, token = sec.tokens.create(conn, admin_actor, "ci", Role.VIEWER)
    with state_db.begin() as conn:
        assert sec.tokens.authenticate(conn, plaintext) is not None
        revoked = sec.tokens.revoke(conn, admin_actor, token.id)
    assert revoked.status(sec.tokens.now_ms()).value == "revoked"
    with state_db.begin() as conn:
        assert sec.tokens.authenticate(conn, plaintext) is None
        actions = [r.action for r in sec.audit.list(conn)]
    assert actions == ["tokens:create", "tokens:revoke"]


async def test_token_expires_at_its_expiry(
    sec: SecurityServices, state_db: Database, admin_actor: Principal, fake_clock: FakeClock
) -> None:
    with state_db.begin() as conn:
        plaintext, _ = sec.tokens.create(conn, admin_actor, "ci", Role.VIEWER, expires_in=HOUR)
    await fake_clock.advance(HOUR - 1)
    with state_db.begin() as conn:
        assert sec.tokens.authenticate(conn, plaintext) is not None
    await fake_clock.advance(1)
    with state_db.begin() as conn:
        assert sec.tokens.authenticate(conn, plaintext) is None
        (listed,) = sec.tokens.list(conn)
    assert listed.status(sec.tokens.now_ms()).value == "expired"


def test_unknown_and_malformed_tokens_do_not_authenticate(
    sec: SecurityServices, state_db: Database
) -> None:
    with state_db.begin() as conn:
        assert sec.tokens.authenticate(conn, "wk_unknown") is None
        assert sec.tokens.authenticate(conn, "Basic abc") is None


def test_tokens_are_found_by_id_or_unique_active_name(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        _, first = sec.tokens.create(conn, admin_actor, "ci", Role.VIEWER)
        sec.tokens.revoke(conn, admin_actor, first.id)
        _, second = sec.tokens.create(conn, admin_actor, "ci", Role.VIEWER)
        assert sec.tokens.find(conn, "ci").id == second.id
        assert sec.tokens.find(conn, str(first.id)).id == first.id
        with pytest.raises(NotFoundError):
            sec.tokens.find(conn, "other")
