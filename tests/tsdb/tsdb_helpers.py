"""Helpers shared by the TSDB tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.core.labels import Labels, Matcher, MatchOp
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

T0 = 1_700_000_000_000  # the fake clock's start, in ms

OpenStore = Callable[..., EmbeddedStore]


def storage_config(path: Path, **overrides: Any) -> StorageConfig:
    return StorageConfig.model_validate({"path": str(path), **overrides})


def L(name: str, **labels: str) -> Labels:
    return Labels({"__name__": name, **labels})


def eq(name: str, value: str) -> Matcher:
    return Matcher(name, MatchOp.EQUAL, value)
