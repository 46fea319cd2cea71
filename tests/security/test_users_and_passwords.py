"""User accounts and argon2id password hashing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from watchkeeper.core.errors import ConflictError, NotFoundError, UserInputError
from watchkeeper.security.config import Argon2Config, SecurityConfig
from watchkeeper.security.passwords import Passwords, check_password, generate_password
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import Principal
from watchkeeper.security.setup import SecurityServices
from watchkeeper.security.users import User
from watchkeeper.state.db import Database
from watchkeeper.state.tables.security import auth_sessions, users

MakeUser = Callable[..., User]


def test_default_argon2_parameters_follow_rfc_9106() -> None:
    cfg = Argon2Config()
    assert (cfg.time_cost, cfg.memory_cost, cfg.parallelism) == (3, 65536, 4)
    assert (cfg.hash_len, cfg.salt_len) == (32, 16)


def test_password_hash_is_argon2id_with_the_configured_parameters(password: str) -> None:
    passwords = Passwords(Argon2Config(time_cost=2, memory_cost=16, parallelism=2))
    stored = passwords.hash(password)
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=2$")
    assert password not in stored
    assert passwords.hash(password) != stored  # salted
    assert passwords.verify(stored, password)
    assert not passwords.verify(stored, password + "!")
    assert not passwords.verify("not a hash", password)


def test_argon2_memory_must_cover_its_lanes() -> None:
    with pytest.raises(ValueError, match="at least 8 KiB per lane"):
        Argon2Config(memory_cost=8, parallelism=4)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "too short"),
        ("x" * 2000, "longer than"),
        ("Alice-12345", "must not be the user name"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        check_password(password, "alice-12345")


def test_generated_passwords_are_long_and_distinct() -> None:
    a, b = generate_password(), generate_password()
    assert a != b
    assert len(a) >= 20
    check_password(a, "alice")


def test_created_user_is_stored_with_an_argon2id_hash_only(
    sec: SecurityServices, state_db: Database, make_user: MakeUser, password: str
) -> None:
    user = make_user(sec, state_db, "alice", Role.OPERATOR)
    with state_db.connect() as conn:
        row = conn.execute(sa.select(users)).one()
    assert user.role is Role.OPERATOR
    assert not user.disabled
    assert row.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert password not in row.password_hash


def test_authenticate_accepts_the_right_password_only(
    sec: SecurityServices, state_db: Database, make_user: MakeUser, password: str
) -> None:
    make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        assert sec.users.authenticate(conn, "alice", password) is not None
        assert sec.users.authenticate(conn, "alice", "wrong password!") is None
        assert sec.users.authenticate(conn, "nobody", password) is None


def test_password_hash_is_upgraded_when_the_parameters_change(
    sec: SecurityServices,
    state_db: Database,
    make_user: MakeUser,
    password: str,
    security_config: SecurityConfig,
) -> None:
    make_user(sec, state_db, "alice")
    stronger = Passwords(Argon2Config(time_cost=2, memory_cost=16, parallelism=1))
    sec.users.passwords = stronger
    with state_db.begin() as conn:
        assert sec.users.authenticate(conn, "alice", password) is not None
    with state_db.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    assert not stronger.needs_rehash(stored)
    assert Passwords(security_config.argon2).needs_rehash(stored)


def test_disabled_user_cannot_log_in_and_loses_its_sessions(
    sec: SecurityServices,
    state_db: Database,
    admin_actor: Principal,
    make_user: MakeUser,
    password: str,
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        token, _ = sec.sessions.create(conn, user.id)
        sec.users.set_disabled(conn, admin_actor, "alice", True)
    with state_db.begin() as conn:
        assert sec.users.authenticate(conn, "alice", password) is None
        assert sec.sessions.resolve(conn, token) is None
        assert conn.execute(sa.select(sa.func.count()).select_from(auth_sessions)).scalar() == 0
        sec.users.set_disabled(conn, admin_actor, "alice", False)
        assert sec.users.authenticate(conn, "alice", password) is not None


def test_changing_a_password_ends_the_users_sessions(
    sec: SecurityServices, state_db: Database, admin_actor: Principal, make_user: MakeUser
) -> None:
    user = make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        token, _ = sec.sessions.create(conn, user.id)
        sec.users.set_password(conn, admin_actor, "alice", "a brand new passphrase")
    with state_db.begin() as conn:
        assert sec.sessions.resolve(conn, token) is None
        assert sec.users.authenticate(conn, "alice", "a brand new passphrase") is not None


def test_duplicate_and_invalid_user_names_are_refused(
    sec: SecurityServices,
    state_db: Database,
    admin_actor: Principal,
    make_user: MakeUser,
    password: str,
) -> None:
    make_user(sec, state_db, "alice")
    with pytest.raises(ConflictError, match="already exists"), state_db.begin() as conn:
        sec.users.create(conn, admin_actor, "alice", password, Role.VIEWER)
    with pytest.raises(UserInputError, match="not valid"), state_db.begin() as conn:
        sec.users.create(conn, admin_actor, "bad name", password, Role.VIEWER)
    with pytest.raises(NotFoundError, match="no user named 'bob'"), state_db.begin() as conn:
        sec.users.get(conn, "bob")


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(
    sec: SecurityServices, state_db: Database, admin_actor: Principal, make_user: MakeUser
) -> None:
    make_user(sec, state_db, "root", Role.ADMIN)
    with pytest.raises(ConflictError, match="last enabled admin"), state_db.begin() as conn:
        sec.users.set_disabled(conn, admin_actor, "root", True)
    with pytest.raises(ConflictError, match="last enabled admin"), state_db.begin() as conn:
        sec.users.set_role(conn, admin_actor, "root", Role.VIEWER)
    make_user(sec, state_db, "second", Role.ADMIN)
    with state_db.begin() as conn:
        assert sec.users.set_role(conn, admin_actor, "root", Role.VIEWER).role is Role.VIEWER


def test_user_changes_are_audited_in_the_same_transaction(
    sec: SecurityServices, state_db: Database, admin_actor: Principal, make_user: MakeUser
) -> None:
    make_user(sec, state_db, "alice")
    with state_db.begin() as conn:
        sec.users.set_role(conn, admin_actor, "alice", Role.OPERATOR)
        sec.users.set_disabled(conn, admin_actor, "alice", True)
        sec.users.set_password(conn, admin_actor, "alice", "another long passphrase")
    with state_db.connect() as conn:
        records = sec.audit.list(conn)
        assert sec.audit.verify(conn).ok
    assert [r.action for r in records] == [
        "users:create",
        "users:role",
        "users:disable",
        "users:password",
    ]
    assert {(r.target, r.actor) for r in records} == {("user:alice", "cli:tester")}
    assert records[1].detail == '{"from":"viewer","to":"operator"}'
    # The password change is recorded without any digest of the password.
    assert records[3].before_digest is None
    assert records[3].after_digest is None
