"""Shared fixtures: fake clock, state databases on SQLite and real PostgreSQL, and the
rule that a missing system tool is a loud skip (a failure under WATCHKEEPER_REQUIRE_TOOLS=1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.state.metadata import metadata
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


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its DSN and drops it afterwards."""
    require_postgres()
    name = f"wk_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield tools.postgres_dsn(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _SharedPostgres:
    """One migrated PostgreSQL database per test process, reset between tests: every
    table truncated, then the rows the migrations seed put back. Far cheaper than creating
    and dropping a database per test on a slow disk."""

    def __init__(self) -> None:
        from watchkeeper.state.db import postgres_url

        self.name = f"wk_shared_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{self.name}"')
        self.dsn = tools.postgres_dsn(self.name)
        self.db = Database(postgres_url(self.dsn))
        self.db.upgrade()
        self.tables = [t for t in metadata.sorted_tables]
        with self.db.connect() as conn:
            self.seed = {
                t.name: [dict(r._mapping) for r in conn.execute(t.select())] for t in self.tables
            }

    def reset(self) -> None:
        import sqlalchemy as sa

        names = ", ".join(f'"{t.name}"' for t in self.tables)
        with self.db.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            for table in self.tables:
                rows = self.seed[table.name]
                if rows:
                    conn.execute(sa.insert(table), rows)

    def close(self) -> None:
        self.db.dispose()
        _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def shared_pg() -> Iterator[_SharedPostgres]:
    require_postgres()
    shared = _SharedPostgres()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def migrated_pg(shared_pg: _SharedPostgres) -> str:
    """The DSN of a PostgreSQL database with the schema at the newest migration and only
    the rows the migrations seed (state from earlier tests removed)."""
    shared_pg.reset()
    return shared_pg.dsn


@pytest.fixture(params=["sqlite", "postgres"])
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The state database, migrated, on SQLite and on real PostgreSQL."""
    if request.param == "sqlite":
        db = Database(sqlite_url(tmp_path / "state.sqlite"))
    else:
        from watchkeeper.state.db import postgres_url

        dsn = request.getfixturevalue("migrated_pg")
        db = Database(postgres_url(dsn))
    db.upgrade()  # a no-op on the migrated template; keeps both backends on one path
    try:
        yield db
    finally:
        db.dispose()
