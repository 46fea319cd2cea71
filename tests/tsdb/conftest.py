"""Fixtures for the embedded TSDB tests: stores on a fake clock, in memory and on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.tsdb.embedded import EmbeddedStore

from .tsdb_helpers import OpenStore, storage_config


@pytest.fixture
def memory_store(fake_clock: FakeClock) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore.memory(clock=fake_clock)
    yield store
    store.close()


@pytest.fixture
def open_store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[OpenStore]:
    """Opens a disk store under tmp_path (same directory each call); closes what is left."""
    opened: list[EmbeddedStore] = []

    def _open(**overrides: Any) -> EmbeddedStore:
        store = EmbeddedStore.open(
            storage_config(tmp_path / "data", **overrides), clock=fake_clock, background=False
        )
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
