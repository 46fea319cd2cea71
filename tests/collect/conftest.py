"""Fixtures of the collector tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.targets import FakeTarget

from .support import RecordingStore


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def fake_target() -> FakeTarget:
    return FakeTarget(name="backend")


@pytest.fixture
def target_server(fake_target: FakeTarget) -> Iterator[FakeServer]:
    with fake_target.serve() as server:
        yield server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
