"""Login rate limiting per user name and per address, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import AuthenticationError
from watchkeeper.security.ratelimit import LoginRateLimitedError
from watchkeeper.security.setup import SecurityServices
from watchkeeper.security.users import User
from watchkeeper.state.db import Database

MakeUser = Callable[..., User]


def _fail(sec: SecurityServices, db: Database, user: str, addr: str) -> None:
    with pytest.raises(AuthenticationError):
        sec.authenticator.login_in(db, user, "wrong password", addr)


async def test_user_is_blocked_after_five_failures_even_with_the_right_password(
    sec: SecurityServices,
    state_db: Database,
    fake_clock: FakeClock,
    make_user: MakeUser,
    password: str,
) -> None:
    make_user(sec, state_db, "alice")
    for i in range(5):
        _fail(sec, state_db, "alice", f"10.0.0.{i}")
        await fake_clock.advance(10)
    with pytest.raises(LoginRateLimitedError) as caught:
        sec.authenticator.login_in(state_db, "alice", password, "10.9.9.9")
    err = caught.value
    assert err.status_code == 429
    assert "too many failed logins for this user name (5 in 15 minutes)" in str(err)
    assert err.retry_after == 15 * 60 - 50
    assert f"try again in {err.retry_after} seconds" in str(err)
    await fake_clock.advance(err.retry_after)
    assert sec.authenticator.login_in(state_db, "alice", password, "10.9.9.9").principal


async def test_one_address_guessing_many_names_is_blocked(
    sec: SecurityServices,
    state_db: Database,
    fake_clock: FakeClock,
    make_user: MakeUser,
    password: str,
) -> None:
    for i in range(20):
        _fail(sec, state_db, f"user{i}", "192.0.2.1")
    with pytest.raises(LoginRateLimitedError, match="from your address"):
        sec.authenticator.login_in(state_db, "someone", password, "192.0.2.1")
    make_user(sec, state_db, "alice")
    # Another address is not affected.
    assert sec.authenticator.login_in(state_db, "alice", password, "192.0.2.2").principal
    await fake_clock.advance(15 * 60)
    assert sec.authenticator.login_in(state_db, "alice", password, "192.0.2.1").principal


def test_successful_login_clears_the_users_counter(
    sec: SecurityServices,
    state_db: Database,
    make_user: MakeUser,
    password: str,
) -> None:
    make_user(sec, state_db, "alice")
    for _ in range(4):
        _fail(sec, state_db, "alice", "10.0.0.1")
    sec.authenticator.login_in(state_db, "alice", password, "10.0.0.1")
    for _ in range(4):
        _fail(sec, state_db, "alice", "10.0.0.1")
    assert sec.authenticator.login_in(state_db, "alice", password, "10.0.0.1").principal


def test_unknown_user_names_are_limited_the_same_way(
    sec: SecurityServices,
    state_db: Database,
    password: str,
) -> None:
    for _ in range(5):
        _fail(sec, state_db, "ghost", "10.0.0.1")
    with pytest.raises(LoginRateLimitedError, match="for this user name"):
        sec.authenticator.login_in(state_db, "ghost", password, "10.0.0.2")


def test_login_and_logout_are_audited(
    sec: SecurityServices,
    state_db: Database,
    make_user: MakeUser,
    password: str,
) -> None:
    make_user(sec, state_db, "alice")
    login = sec.authenticator.login_in(state_db, "alice", password, "10.0.0.1")
    with state_db.begin() as conn:
        assert sec.authenticator.logout(conn, login.token, login.principal, "10.0.0.1")
        assert sec.sessions.resolve(conn, login.token) is None
        records = sec.audit.list(conn)
    assert [(r.action, r.actor, r.remote_addr) for r in records[1:]] == [
        ("sessions:create", "alice", "10.0.0.1"),
        ("sessions:delete", "alice", "10.0.0.1"),
    ]
