"""The postgres collector against the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.postgres.config import PostgresCheckConfig
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing import tools

from .support import RecordingStore, run_check

pytestmark = pytest.mark.postgres


def check(dsn: str, **fields: object) -> PostgresCheckConfig:
    return PostgresCheckConfig.model_validate({"type": "postgres", "dsn": dsn, **fields})


async def test_reads_connections_database_counters_and_wraparound(
    pg_database: str, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(check(pg_database), store, http_client)
    assert status.status is CheckStatus.UP, status.error
    s = store
    assert s.latest("watchkeeper_postgres_max_connections") >= 10
    assert s.latest("watchkeeper_postgres_connections", state="idle") >= 0
    assert s.latest("watchkeeper_postgres_commits_total") > 0
    assert 0 < s.latest("watchkeeper_postgres_cache_hit_ratio") <= 1
    assert s.latest("watchkeeper_postgres_database_size_bytes") > 1_000_000
    dbname = pg_database.rsplit("/", 1)[1]
    assert s.latest("watchkeeper_postgres_xid_age", datname=dbname) >= 0
    assert s.latest("watchkeeper_postgres_autovacuum_freeze_max_age") == 200_000_000
    assert s.latest("watchkeeper_postgres_is_replica") == 0.0
    labels = next(lbls for lbls, _, _ in s.samples if lbls.name.startswith("watchkeeper_pos"))
    assert labels["instance"] == f"{tools.PG_HOST}:{tools.PG_PORT}/{dbname}"


async def test_database_without_pg_stat_statements_reports_it_absent(
    pg_database: str, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(check(pg_database), store, http_client)
    assert status.detail["pg_stat_statements"] is False
    assert store.latest("watchkeeper_postgres_statements_available") == 0.0
    assert store.values("watchkeeper_postgres_statement_calls_total") == []


@pytest.fixture
def held_lock(pg_database: str) -> Iterator[None]:
    """A transaction holding an exclusive lock, and a second session waiting for it."""
    holder = psycopg.connect(pg_database, autocommit=True)
    holder.execute("CREATE TABLE quotes (id int)")
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE quotes IN ACCESS EXCLUSIVE MODE")
    waiter = psycopg.connect(pg_database, autocommit=True)
    done = threading.Event()

    def wait_for_lock() -> None:
        with contextlib.suppress(psycopg.Error):
            waiter.execute("SELECT count(*) FROM quotes")
        done.set()

    thread = threading.Thread(target=wait_for_lock, daemon=True)
    thread.start()
    time.sleep(1.2)  # the long transaction the test measures
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        done.wait(10)
        holder.close()
        waiter.close()


async def test_lock_wait_and_long_transaction_are_measured(
    pg_database: str, held_lock: None, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(check(pg_database), store, http_client)
    assert status.status is CheckStatus.UP, status.error
    assert store.latest("watchkeeper_postgres_lock_waiting_sessions") >= 1
    assert store.latest("watchkeeper_postgres_blocked_sessions") >= 1
    assert store.latest("watchkeeper_postgres_longest_transaction_seconds") >= 1.0
    assert store.latest("watchkeeper_postgres_longest_lock_wait_seconds") >= 0.5
    assert store.latest("watchkeeper_postgres_idle_in_transaction_sessions") >= 1
    assert store.latest("watchkeeper_postgres_longest_query_seconds") >= 0.5


async def test_session_is_read_only(pg_database: str) -> None:
    from watchkeeper.collect.base import CollectorDeps
    from watchkeeper.collect.postgres.collector import PostgresCollector
    from watchkeeper.core.clock import SystemClock

    async with httpx.AsyncClient() as http:
        collector = PostgresCollector(check(pg_database), CollectorDeps(SystemClock(), http))
        conn = await collector._connect(5.0)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await conn.execute("CREATE TABLE nope (id int)")
        cur = await conn.execute("SHOW statement_timeout")
        assert (await cur.fetchone()) == ("5s",)
        await collector.close()


async def test_wrong_password_is_an_auth_error(
    pg_database: str, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE ROLE wk_probe LOGIN PASSWORD 'right'")
    try:
        host = f"{tools.PG_HOST}:{tools.PG_PORT}"
        dsn = f"postgresql://wk_probe:wrong@{host}/{pg_database.rsplit('/', 1)[1]}"
        status = await run_check(check(dsn), store, http_client)
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute("DROP ROLE wk_probe")
    # trust auth accepts any password; where passwords are checked it is an auth error
    if status.status is CheckStatus.DOWN:
        assert status.reason is CollectFailure.AUTH
        assert "wrong" not in (status.error or "")
    else:
        assert status.status is CheckStatus.UP


async def test_unreachable_server_is_a_connection_failure(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    from watchkeeper.testing.server import free_port

    status = await run_check(
        check(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"), store, http_client
    )
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.CONNECTION
    assert status.error is not None
    assert status.error.startswith("cannot connect to PostgreSQL at 127.0.0.1:")


def test_bad_dsn_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="dsn is not a valid PostgreSQL connection string"):
        check("host=x port")


def test_dsn_password_is_redacted() -> None:
    cfg = check("postgresql://u:hunter2@db.example.test:6543/app")
    assert "hunter2" not in cfg.model_dump_json()
    assert cfg.instance() == "db.example.test:6543/app"


async def test_statements_are_read_when_the_extension_is_loaded(
    pg_database: str, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        except psycopg.Error as exc:
            pytest.skip(f"pg_stat_statements cannot be created here: {exc}")
        loaded = conn.execute("SHOW shared_preload_libraries").fetchone()
    status = await run_check(check(pg_database, top_statements=5), store, http_client)
    assert status.status is CheckStatus.UP, status.error
    if loaded is None or "pg_stat_statements" not in str(loaded[0]):
        assert store.latest("watchkeeper_postgres_statements_available") == 0.0
        assert "not loaded" in str(status.detail["pg_stat_statements"])
    else:
        assert store.latest("watchkeeper_postgres_statements_available") == 1.0
        assert store.values("watchkeeper_postgres_statement_calls_total")
    await asyncio.sleep(0)
