"""Load a NAB-layout folder: ``<data>/<category>/<file>.csv`` plus a windows JSON file that
maps ``"<category>/<file>.csv"`` to a list of ``[start, end]`` timestamps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from watchkeeper.anomaly.nab.scoring import PROBATION_PERCENT, FileLayout, Window, layout
from watchkeeper.anomaly.series_csv import (
    AnomalyInputError,
    SeriesData,
    parse_timestamp,
    read_series_file,
)


@dataclass(frozen=True, slots=True)
class NabFile:
    key: str  # "<category>/<file>.csv", as in the windows file
    series: SeriesData
    layout: FileLayout

    @property
    def category(self) -> str:
        return self.key.split("/", 1)[0]


def read_windows(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The windows file as ``{key: [(start, end), ...]}``, checked for shape."""
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnomalyInputError(f"{path}: no such windows file; check the path") from None
    except json.JSONDecodeError as exc:
        raise AnomalyInputError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, dict):
        raise AnomalyInputError(
            f"{path}: expected a JSON object mapping '<category>/<file>.csv' to windows"
        )
    out: dict[str, list[tuple[str, str]]] = {}
    for key, windows in doc.items():
        if not isinstance(windows, list) or not all(
            isinstance(w, list) and len(w) == 2 and all(isinstance(t, str) for t in w)
            for w in windows
        ):
            raise AnomalyInputError(
                f"{path}: {key!r}: expected a list of [start, end] timestamp pairs"
            )
        out[str(key)] = [(w[0], w[1]) for w in windows]
    return out


def _row_of(series: SeriesData, text: str, where: str) -> int:
    try:
        ts = parse_timestamp(text)
    except ValueError as exc:
        raise AnomalyInputError(f"{where}: {exc}") from None
    rows = np.flatnonzero(series.timestamps == ts)
    if rows.size == 0:
        raise AnomalyInputError(
            f"{where}: window timestamp {text!r} is not a row of {series.source}; "
            "window bounds must be timestamps that occur in the file"
        )
    return int(rows[0])


def load_corpus(
    data_dir: Path,
    windows_path: Path,
    *,
    probation_percent: float = PROBATION_PERCENT,
    categories: Sequence[str] | None = None,
) -> list[NabFile]:
    """Every file named in the windows file (optionally only some categories), in key order."""
    if not data_dir.is_dir():
        raise AnomalyInputError(f"{data_dir}: not a directory; give the NAB data folder")
    all_windows = read_windows(windows_path)
    files: list[NabFile] = []
    for key in sorted(all_windows):
        if categories is not None and key.split("/", 1)[0] not in categories:
            continue
        csv_path = data_dir / key
        if not csv_path.is_file():
            raise AnomalyInputError(
                f"{windows_path}: {key!r} has no data file {csv_path}; "
                "DATA_DIR must hold <category>/<file>.csv for every key of the windows file"
            )
        series = read_series_file(csv_path)
        where = f"{windows_path}: {key!r}"
        windows = [
            Window(_row_of(series, start, where), _row_of(series, end, where))
            for start, end in all_windows[key]
        ]
        try:
            file_layout = layout(len(series), windows, probation_percent)
        except ValueError as exc:
            raise AnomalyInputError(f"{where}: {exc}") from None
        files.append(NabFile(key=key, series=series, layout=file_layout))
    if not files:
        raise AnomalyInputError(f"{windows_path}: names no files to score")
    return files
