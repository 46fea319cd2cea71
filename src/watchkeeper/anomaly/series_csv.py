"""Read and write ``timestamp,value`` CSV files (the NAB layout).

Timestamps may be ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (read as UTC when no offset is given),
RFC 3339 (``2024-05-01T12:00:00Z``) or seconds since the epoch. Values are numbers;
``nan`` marks a gap. A row that does not parse is an :class:`AnomalyInputError` naming the
file, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

from watchkeeper.core.errors import UserInputError

FloatArray = NDArray[np.float64]


class AnomalyInputError(UserInputError):
    """A data file (series CSV, windows JSON, NAB folder) that cannot be used as given."""


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One series as read from a CSV file: the timestamps as written and as epoch seconds."""

    source: str
    timestamp_text: tuple[str, ...]
    value_text: tuple[str, ...]
    timestamps: FloatArray
    values: FloatArray

    def __len__(self) -> int:
        return len(self.timestamp_text)


def parse_timestamp(text: str) -> float:
    """Epoch seconds of a timestamp; raises ``ValueError`` with what was expected."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("the timestamp is empty")
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ValueError(f"timestamp {stripped!r} is not a finite number")
        return number
    iso = stripped[:-1] + "+00:00" if stripped.endswith(("Z", "z")) else stripped
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"timestamp {stripped!r} is not a date-time: expected e.g. "
            "'2024-05-01 12:00:00', '2024-05-01T12:00:00Z' or epoch seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _parse_value(text: str) -> float:
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        raise ValueError(
            f"value {stripped!r} is not a number (write nan for a missing value)"
        ) from None


def read_series(stream: TextIO, source: str) -> SeriesData:
    """Parse ``timestamp,value`` rows; a ``timestamp,value`` header line is optional."""
    texts: list[str] = []
    value_texts: list[str] = []
    stamps: list[float] = []
    values: list[float] = []
    reader = csv.reader(stream)
    previous = -math.inf
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if not texts and line == 1 and [c.strip().lower() for c in row] == ["timestamp", "value"]:
            continue
        if len(row) != 2:
            raise AnomalyInputError(
                f"{source}, line {line}: expected 2 columns (timestamp,value), got {len(row)}"
            )
        try:
            ts = parse_timestamp(row[0])
            value = _parse_value(row[1])
        except ValueError as exc:
            if line == 1:
                raise AnomalyInputError(
                    f"{source}, line 1: {exc}; the header, if any, must be 'timestamp,value'"
                ) from None
            raise AnomalyInputError(f"{source}, line {line}: {exc}") from None
        if ts < previous:
            raise AnomalyInputError(
                f"{source}, line {line}: timestamp {row[0].strip()!r} is earlier than the "
                "row before it; sort the file by time (detectors read series in time order)"
            )
        previous = ts
        texts.append(row[0].strip())
        value_texts.append(row[1].strip())
        stamps.append(ts)
        values.append(value)
    return SeriesData(
        source=source,
        timestamp_text=tuple(texts),
        value_text=tuple(value_texts),
        timestamps=np.asarray(stamps, dtype=np.float64),
        values=np.asarray(values, dtype=np.float64),
    )


def read_series_file(path: Path) -> SeriesData:
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return read_series(stream, str(path))
    except FileNotFoundError:
        raise AnomalyInputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise AnomalyInputError(f"{path}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError as exc:
        raise AnomalyInputError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV"
        ) from None


def format_score(score: float) -> str:
    return f"{score:.6f}".rstrip("0").rstrip(".") if score else "0"


def write_scored(
    out: TextIO, timestamp_text: Iterable[str], value_text: Iterable[str], scores: Iterable[float]
) -> None:
    """Write ``timestamp,value,anomaly_score`` rows with a header; values as they were read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("timestamp", "value", "anomaly_score"))
    for ts, value, score in zip(timestamp_text, value_text, scores, strict=True):
        writer.writerow((ts, value, format_score(float(score))))
    out.write(buffer.getvalue())
