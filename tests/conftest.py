"""Shared fixtures: fake clock, state databases on SQLite and real PostgreSQL, and the
rule that a missing system tool is a loud skip (a failure under WATCHKEEPER_REQUIRE_TOOLS=1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.testing import tools


def require(available: bool, what: str, how: str) -> None:
    """Skip (or fail under WATCHKEEPER_REQUIRE_TOOLS=1) when a system tool is missing."""
    if available:
        return
    message = f"MISSING SYSTEM TOOL: {what} is not available; {how}"
    if tools.tools_required():
        pytest.fail(message + f" ({tools.REQUIRE_ENV}=1 turns this skip into a failure)")
    pytest.skip(message)


def require_postgres() -> None:
    require(
        tools.postgres_available(),
        f"PostgreSQL at {tools.PG_HOST}:{tools.PG_PORT}",
        "start it (`.ci/run` does) or set WATCHKEEPER_TEST_PG_HOST/PORT",
    )


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its DSN and drops it afterwards."""
    require_postgres()
    import psycopg

    name = f"wk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield tools.postgres_dsn(name)
    finally:
        with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The state database, migrated, on SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        db = Database(sqlite_url(tmp_path / "state.sqlite"))
    else:
        from watchkeeper.state.db import postgres_url

        dsn = request.getfixturevalue("pg_database")
        db = Database(postgres_url(dsn))
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()
