"""Query results: :class:`Scalar`, :class:`String`, :class:`Vector` and :class:`Matrix`.

Timestamps are integer milliseconds since the epoch, values float64, labels
:class:`~watchkeeper.core.labels.Labels`. ``to_json()`` gives Prometheus' HTTP API form as
Python objects; ``json_text()`` the same as JSON text, built without intermediate objects
(large matrices are the API's hot path).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from watchkeeper.core.labels import Labels

_EXACT_INT = 2.0**53


def format_value(value: float) -> str:
    """A float as Prometheus writes it in JSON (``"1.5"``, ``"NaN"``, ``"+Inf"``): Go's
    ``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(float(value))
    if text.endswith(".0"):
        return text[:-2]
    if "e" in text:
        return format(Decimal(text), "f")
    return text


def format_values(values: npt.NDArray[np.float64]) -> list[str]:
    """:func:`format_value` over an array; ``repr`` is already right for finite
    non-integers in [1e-4, 1e16), so only the other values take the slow path."""
    if values.shape[0] == 0:
        return []
    magnitude = np.abs(values)
    integral = np.trunc(values) == values
    small_int = integral & (magnitude < _EXACT_INT) & ~((values == 0) & np.signbit(values))
    if bool(small_int.all()):
        return list(map(str, values.astype(np.int64).tolist()))
    listed = values.tolist()
    out = list(map(repr, listed))
    special = integral | ~np.isfinite(values) | (magnitude >= 1e16) | (magnitude < 1e-4)
    for i in np.flatnonzero(special).tolist():
        out[i] = format_value(listed[i])
    return out


def timestamps_json(ms: npt.NDArray[np.int64]) -> list[int] | list[float]:
    """Millisecond timestamps as JSON seconds (integers when whole)."""
    if not bool((ms % 1000).any()):
        whole: list[int] = (ms // 1000).tolist()
        return whole
    seconds: list[float] = (ms / 1000).tolist()
    return seconds


def _ts(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _labels_json(labels: Labels) -> str:
    return json.dumps(labels.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float
    timestamp_ms: int

    result_type = "scalar"

    def to_json(self) -> list[Any]:
        return [_ts(self.timestamp_ms), format_value(self.value)]

    def json_text(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class String:
    value: str
    timestamp_ms: int

    result_type = "string"

    def to_json(self) -> list[Any]:
        return [_ts(self.timestamp_ms), self.value]

    def json_text(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector."""

    labels: Labels
    value: float
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Vector:
    """An instant vector: samples at one evaluation time, in the engine's result order."""

    samples: tuple[Sample, ...]
    timestamp_ms: int

    result_type = "vector"

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "metric": s.labels.to_dict(),
                "value": [_ts(s.timestamp_ms), format_value(s.value)],
            }
            for s in self.samples
        ]

    def json_text(self) -> str:
        if not self.samples:
            return "[]"
        ts = json.dumps(_ts(self.timestamp_ms))
        values = format_values(np.fromiter((s.value for s in self.samples), dtype=np.float64))
        parts = [
            f'{{"metric":{_labels_json(s.labels)},"value":[{ts},"{v}"]}}'
            for s, v in zip(self.samples, values, strict=True)
        ]
        return "[" + ",".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a matrix: its points sorted by time."""

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def points(self) -> list[tuple[int, float]]:
        return list(zip(self.timestamps.tolist(), self.values.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True, slots=True)
class Matrix:
    """A range vector (or a range query's result): series sorted by labels."""

    series: tuple[Series, ...]

    result_type = "matrix"

    def __iter__(self) -> Iterator[Series]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, index: int) -> Series:
        return self.series[index]

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "metric": s.labels.to_dict(),
                "values": [
                    [t, v]
                    for t, v in zip(
                        timestamps_json(s.timestamps), format_values(s.values), strict=True
                    )
                ],
            }
            for s in self.series
        ]

    def json_text(self) -> str:
        parts = []
        for s in self.series:
            points = ",".join(
                map('[{},"{}"]'.format, timestamps_json(s.timestamps), format_values(s.values))
            )
            parts.append(f'{{"metric":{_labels_json(s.labels)},"values":[{points}]}}')
        return "[" + ",".join(parts) + "]"


Result = Scalar | String | Vector | Matrix
