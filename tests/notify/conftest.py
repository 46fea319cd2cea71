"""Fixtures for the notification tests: a webhook sink and an outbox + worker on the state
database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.state.db import Database
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import Stage, make_stage, receiver


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as s:
        yield s


@pytest.fixture
async def webhook_stage(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> AsyncIterator[Stage]:
    stage = make_stage(
        state_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("team"), "timeout": "2s"}])],
        fake_clock,
    )
    yield stage
    await stage.close()
