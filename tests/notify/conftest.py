"""Fixtures for the notification tests: a webhook sink and an outbox + worker on the state
database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import Stage, make_stage, receiver


@pytest.fixture(scope="session")
def _shared_sink() -> Iterator[WebhookSink]:
    with WebhookSink() as s:
        yield s


@pytest.fixture
def sink(_shared_sink: WebhookSink) -> Iterator[WebhookSink]:
    """A webhook sink, shared by the tests of a session and reset for each."""
    _shared_sink.reset()
    yield _shared_sink
    _shared_sink.reset()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """The state database on SQLite only, for behaviour that does not depend on the engine
    (the engine-specific parts run on both through ``state_db``)."""
    db = Database(sqlite_url(tmp_path / "state.sqlite"))
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()


async def _stage(db: Database, sink: WebhookSink, clock: FakeClock) -> AsyncIterator[Stage]:
    stage = make_stage(
        db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("team"), "timeout": "2s"}])],
        clock,
    )
    yield stage
    await stage.close()


@pytest.fixture
async def webhook_stage(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> AsyncIterator[Stage]:
    async for stage in _stage(sqlite_db, sink, fake_clock):
        yield stage


@pytest.fixture
async def webhook_stage_both(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> AsyncIterator[Stage]:
    """The same on SQLite and PostgreSQL."""
    async for stage in _stage(state_db, sink, fake_clock):
        yield stage
