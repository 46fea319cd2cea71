"""Run a detector over a NAB corpus and report the scores and the plain counts.

Each file is scored in streaming order by a fresh detector (the vectorised path, which is
identical to feeding rows one by one). The report gives, per profile, the normalised
score at the fixed threshold and at the threshold NAB's sweep finds best, and the
counts a person can check: windows hit and missed, alert starts outside windows and
alert starts on the files of a no-anomaly category.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from watchkeeper.anomaly.base import Detector, FloatArray
from watchkeeper.anomaly.nab.corpus import NabFile
from watchkeeper.anomaly.nab.scoring import (
    PROFILES,
    FileLayout,
    ProfileName,
    best_threshold,
    normalise,
    score_file,
    sweep,
)
from watchkeeper.anomaly.series_csv import AnomalyInputError

NO_ANOMALY_CATEGORY = "artificialNoAnomaly"


@dataclass(frozen=True, slots=True)
class ProfileResult:
    profile: ProfileName
    raw: float  # raw corpus score at the fixed threshold
    score: float  # normalised, at the fixed threshold
    best_raw: float
    best_score: float  # normalised, at the optimised threshold
    best_threshold: float


@dataclass(frozen=True, slots=True)
class Counts:
    windows: int
    windows_hit: int
    windows_missed: int
    alert_starts_outside: int  # runs of detections outside windows (alert events)
    rows_outside: int  # detection rows outside windows (what NAB charges)
    no_anomaly_alert_starts: int
    mean_hit_position: float | None  # 0 = first row of the window, 1 = last


@dataclass(frozen=True, slots=True)
class NabReport:
    threshold: float
    files: int
    rows: int
    profiles: tuple[ProfileResult, ...]
    counts: Counts
    per_category: dict[str, Counts] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def points_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def profile(self, name: ProfileName) -> ProfileResult:
        return next(p for p in self.profiles if p.profile == name)


def run_detector(
    files: Sequence[NabFile], factory: Callable[[], Detector]
) -> tuple[list[FloatArray], float]:
    """Scores per file from a fresh detector each, and the seconds spent detecting."""
    scores: list[FloatArray] = []
    spent = 0.0
    for f in files:
        detector = factory()
        start = time.perf_counter()
        out = detector.score_batch(f.series.timestamps, f.series.values)
        spent += time.perf_counter() - start
        if out.shape != f.series.values.shape or np.any((out < 0) | (out > 1) | np.isnan(out)):
            raise ValueError(f"detector {detector.name!r} gave scores outside [0, 1] on {f.key}")
        scores.append(out)
    return scores, spent


def _counts(files: Sequence[NabFile], scores: Sequence[FloatArray], threshold: float) -> Counts:
    standard = PROFILES[ProfileName.STANDARD]
    hit = missed = starts = rows = quiet = 0
    positions: list[float] = []
    for f, s in zip(files, scores, strict=True):
        result = score_file(s, f.layout, standard, threshold)
        hit += result.windows_hit
        missed += result.windows_missed
        starts += result.fp_events
        rows += result.fp_rows
        if f.category == NO_ANOMALY_CATEGORY:
            quiet += result.fp_events
        counted = [w for w, c in zip(f.layout.windows, f.layout.counted, strict=True) if c]
        for w, first in zip(counted, result.first_hits, strict=True):
            if first is not None:
                positions.append((first - w.start) / max(w.length - 1, 1))
    return Counts(
        windows=hit + missed,
        windows_hit=hit,
        windows_missed=missed,
        alert_starts_outside=starts,
        rows_outside=rows,
        no_anomaly_alert_starts=quiet,
        mean_hit_position=float(np.mean(positions)) if positions else None,
    )


def evaluate(
    files: Sequence[NabFile],
    scores: Sequence[FloatArray],
    threshold: float = 0.5,
    seconds: float = 0.0,
) -> NabReport:
    """Score ``scores`` (one array per file) under every profile."""
    layouts: list[FileLayout] = [f.layout for f in files]
    if not any(f.layout.windows for f in files):
        raise AnomalyInputError(
            "the windows file names no anomaly windows for these files, so NAB scores "
            "(normalised between the null and the perfect detector) are undefined"
        )
    results = []
    for name, profile in PROFILES.items():
        pairs = zip(scores, layouts, strict=True)
        raw = sum(score_file(s, lay, profile, threshold).score for s, lay in pairs)
        best = best_threshold(sweep(scores, layouts, profile))
        results.append(
            ProfileResult(
                profile=name,
                raw=raw,
                score=normalise(raw, layouts, profile),
                best_raw=best.score,
                best_score=normalise(best.score, layouts, profile),
                best_threshold=best.threshold,
            )
        )
    categories = sorted({f.category for f in files})
    per_category = {
        c: _counts(
            [f for f in files if f.category == c],
            [s for f, s in zip(files, scores, strict=True) if f.category == c],
            threshold,
        )
        for c in categories
    }
    return NabReport(
        threshold=threshold,
        files=len(files),
        rows=sum(f.layout.n_rows for f in files),
        profiles=tuple(results),
        counts=_counts(files, scores, threshold),
        per_category=per_category,
        seconds=seconds,
    )
