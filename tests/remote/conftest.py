"""Fixtures of the remote tests: an embedded store in memory and the push app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import require
from watchkeeper.core.clock import FakeClock
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import PushApp, push_app
from .tsdbs import TSDBProcess, start_victoriametrics, victoriametrics_binary


def need_vm() -> None:
    require(
        victoriametrics_binary() is not None,
        "VictoriaMetrics (`victoria-metrics`)",
        "apt-get install victoria-metrics (`.ci/run` installs it)",
    )


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[TSDBProcess]:
    """A real VictoriaMetrics on a free loopback port, stopped by its PID afterwards."""
    need_vm()
    process = start_victoriametrics(tmp_path / "vm")
    yield process
    process.stop()


@pytest.fixture
def store(fake_clock: FakeClock) -> Iterator[EmbeddedStore]:
    config = StorageConfig.model_validate({"max_series_per_target": 50})
    s = EmbeddedStore.memory(config, clock=fake_clock)
    yield s
    s.close()


@pytest.fixture
def pushed(store: EmbeddedStore, fake_clock: FakeClock, tmp_path: Path) -> Iterator[PushApp]:
    app = push_app(store, fake_clock, tmp_path)
    yield app
    app.db.dispose()


@pytest.fixture
async def client(pushed: PushApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=pushed.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
