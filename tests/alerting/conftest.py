"""Fixtures for alert management tests: a SQLite state database, a recording outbox and a
manager built from config text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from watchkeeper.alerting.manager import AlertManager
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database, sqlite_url

from .support import RecordingOutbox


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_url(tmp_path / "alerting.sqlite"))
    database.create_all()
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
