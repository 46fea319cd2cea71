"""Helpers for the PromQL tests."""

from __future__ import annotations

from watchkeeper.core.labels import Labels
from watchkeeper.tsdb.base import SeriesStore


def series(name: str, **labels: str) -> Labels:
    return Labels({"__name__": name, **labels})


def load(store: SeriesStore, labels: Labels, values: list[float], step_s: float = 60) -> None:
    """Samples ``values`` at 0, step, 2*step, ... seconds."""
    step_ms = round(step_s * 1000)
    result = store.append((labels, i * step_ms, v) for i, v in enumerate(values))
    assert not result.errors
