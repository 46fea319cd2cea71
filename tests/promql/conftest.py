"""Fixtures for the PromQL tests: an in-memory embedded store and an engine on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.promql import Engine
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.tsdb.embedded import EmbeddedStore


@pytest.fixture
def store() -> Iterator[SeriesStore]:
    s = EmbeddedStore.memory(clock=FakeClock(0.0))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def engine(store: SeriesStore) -> Engine:
    return Engine(store, clock=FakeClock(0.0))
