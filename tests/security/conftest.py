"""Fixtures for the security tests: the services on the state database (SQLite and
PostgreSQL), a fake clock, cheap argon2 parameters and a fresh encryption key."""

from __future__ import annotations

from typing import Protocol

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.security.config import Argon2Config, SecurityConfig
from watchkeeper.security.crypto import KeyRing, SecretBox, generate_key
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import Principal, system_principal
from watchkeeper.security.setup import SecurityServices, build_security
from watchkeeper.security.users import User
from watchkeeper.state.db import Database

# Tests only: the package default stays RFC 9106's recommendation.
CHEAP_ARGON2 = Argon2Config(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def security_config() -> SecurityConfig:
    return SecurityConfig(argon2=CHEAP_ARGON2)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KeyRing.single(generate_key()))


@pytest.fixture
def sec(security_config: SecurityConfig, fake_clock: FakeClock, box: SecretBox) -> SecurityServices:
    return build_security(security_config, clock=fake_clock, box=box)


@pytest.fixture
def admin_actor() -> Principal:
    return system_principal("cli:tester")


class UserFactory(Protocol):
    def __call__(
        self, sec: SecurityServices, db: Database, name: str, role: Role = ...
    ) -> User: ...


def _make_user(sec: SecurityServices, db: Database, name: str, role: Role = Role.VIEWER) -> User:
    with db.begin() as conn:
        return sec.users.create(conn, system_principal("cli:tester"), name, PASSWORD, role)


@pytest.fixture
def make_user() -> UserFactory:
    """Create a user with the password of the ``password`` fixture."""
    return _make_user


@pytest.fixture
def password() -> str:
    return PASSWORD
