"""Fixtures for alert management tests: a SQLite state database, a recording outbox and a
manager built from config text."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from watchkeeper.alerting.manager import AlertManager
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database, sqlite_url

from .support import RecordingOutbox


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully created state database, copied for each test (fast setup)."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite"
    database = Database(sqlite_url(path))
    database.create_all()
    with database.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def db(tmp_path: Path, schema_template: Path) -> Iterator[Database]:
    target = tmp_path / "alerting.sqlite"
    shutil.copyfile(schema_template, target)
    database = Database(sqlite_url(target))
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
async def make_manager(
    db: Database, outbox: RecordingOutbox, fake_clock: FakeClock
) -> AsyncIterator[Callable[[str], AlertManager]]:
    """``make_manager(yaml_text)`` builds a manager from a root config (not yet started)."""
    made: list[AlertManager] = []

    def make(text: str, *, database: Database | None = None) -> AlertManager:
        loaded = load_config_text(text)
        manager = AlertManager.from_config(
            loaded.config, db=database or db, outbox=outbox, clock=fake_clock
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.stop()
