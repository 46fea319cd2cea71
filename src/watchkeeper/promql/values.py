"""Query results: :class:`Scalar`, :class:`String`, :class:`Vector` and :class:`Matrix`.

Timestamps are integer milliseconds since the epoch, values float64, labels
:class:`~watchkeeper.core.labels.Labels`. ``to_json()`` gives Prometheus' HTTP API form.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from watchkeeper.core.labels import Labels


def format_value(value: float) -> str:
    """A float as Prometheus writes it in JSON (``"1.5"``, ``"NaN"``, ``"+Inf"``)."""
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


def _ts(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float
    timestamp_ms: int

    result_type = "scalar"

    def to_json(self) -> list[Any]:
        return [_ts(self.timestamp_ms), format_value(self.value)]


@dataclass(frozen=True, slots=True)
class String:
    value: str
    timestamp_ms: int

    result_type = "string"

    def to_json(self) -> list[Any]:
        return [_ts(self.timestamp_ms), self.value]


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
        out = []
        for s in self.series:
            ts = s.timestamps.tolist()
            vs = s.values.tolist()
            out.append(
                {
                    "metric": s.labels.to_dict(),
                    "values": [[_ts(t), format_value(v)] for t, v in zip(ts, vs, strict=True)],
                }
            )
        return out


Result = Scalar | String | Vector | Matrix
