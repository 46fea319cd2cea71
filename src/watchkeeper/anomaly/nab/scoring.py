"""The NAB scoring rules, implemented from their specification.

A detector gives one score in [0, 1] per row. Rows in the probationary period (the first
15 %, at most 750 rows) never count. A row is a *detection* when its score is at least the
threshold. Each labelled window is worth the value of its earliest detection (a scaled
sigmoid of the position in the window, from ``A_TP`` on the first row down to a small
positive value on the last) or ``-A_FN`` when it has none. Every detection outside the
windows costs ``A_FP`` (less right after a window). The corpus score is normalised so that
the null detector scores 0 and the perfect one 100.

Functions here work on plain arrays; :mod:`watchkeeper.anomaly.nab.corpus` loads files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000
NO_DETECTION_THRESHOLD = 1.1


class ProfileName(StrEnum):
    STANDARD = "standard"
    REWARD_LOW_FP = "reward_low_FP_rate"
    REWARD_LOW_FN = "reward_low_FN_rate"


@dataclass(frozen=True, slots=True)
class Profile:
    """A scoring profile: the weights of a true positive, false positive and miss."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES: dict[ProfileName, Profile] = {
    ProfileName.STANDARD: Profile(ProfileName.STANDARD, tp=1.0, fp=0.11, fn=1.0),
    ProfileName.REWARD_LOW_FP: Profile(ProfileName.REWARD_LOW_FP, tp=1.0, fp=0.22, fn=1.0),
    ProfileName.REWARD_LOW_FN: Profile(ProfileName.REWARD_LOW_FN, tp=1.0, fp=0.11, fn=2.0),
}


def scaled_sigmoid(y: float) -> float:
    """NAB's sigmoid: ``2 / (1 + e^(5y)) - 1`` for ``y <= 3`` and ``-1`` beyond."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def _sigmoid_array(y: FloatArray) -> FloatArray:
    clipped = np.minimum(y, 3.0)
    out: FloatArray = 2.0 / (1.0 + np.exp(5.0 * clipped)) - 1.0
    out[y > 3.0] = -1.0
    return out


MAX_TP = scaled_sigmoid(-1.0)


def probation_rows(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows ``0 .. P-1`` are never scored: ``P = min(floor(p*N), p*5000)``."""
    if n_rows < 0:
        raise ValueError("a file cannot have a negative number of rows")
    cap = percent * PROBATION_CAP_ROWS
    # Row i is scorable when i >= P; for a fractional cap that is i >= ceil(cap).
    return int(min(math.floor(percent * n_rows), math.ceil(cap - 1e-9)))


@dataclass(frozen=True, slots=True)
class Window:
    """A labelled window as inclusive row indices."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def check_windows(windows: Sequence[Window], n_rows: int) -> None:
    """Raise ``ValueError`` unless the windows are sorted, disjoint and inside the file."""
    previous_end = -1
    for w in windows:
        if w.start > w.end:
            raise ValueError(f"window rows {w.start}..{w.end} end before they start")
        if w.start <= previous_end:
            raise ValueError(f"window rows {w.start}..{w.end} overlap or are out of order")
        if w.end >= n_rows:
            raise ValueError(f"window rows {w.start}..{w.end} run past the last row {n_rows - 1}")
        previous_end = w.end


@dataclass(frozen=True, slots=True)
class FileLayout:
    """Per-row facts of one file that do not depend on the detector or the profile."""

    n_rows: int
    probation: int
    windows: tuple[Window, ...]
    window_id: NDArray[np.int64]  # -1 outside windows, else the window's index in the file
    unit_weight_in: FloatArray  # sigma(y)/sigma(-1) inside windows (times A_TP = weight)
    unit_weight_out: FloatArray  # sigma(y) in [-1, 0) outside (times A_FP = weight)

    @property
    def counted(self) -> tuple[bool, ...]:
        """A window counts when at least one of its rows is scorable."""
        return tuple(w.end >= self.probation for w in self.windows)

    def weights(self, profile: Profile) -> FloatArray:
        """``v_i``: what a detection on row i would contribute under ``profile``."""
        inside = self.window_id >= 0
        out: FloatArray = np.where(
            inside, profile.tp * self.unit_weight_in, profile.fp * self.unit_weight_out
        )
        return out


def layout(
    n_rows: int, windows: Sequence[Window], probation_percent: float = PROBATION_PERCENT
) -> FileLayout:
    check_windows(windows, n_rows)
    window_id = np.full(n_rows, -1, dtype=np.int64)
    unit_in = np.zeros(n_rows)
    unit_out = np.full(n_rows, -1.0)
    rows = np.arange(n_rows, dtype=np.float64)
    for k, w in enumerate(windows):
        window_id[w.start : w.end + 1] = k
        y_in = -(w.end - rows[w.start : w.end + 1] + 1.0) / w.length
        unit_in[w.start : w.end + 1] = _sigmoid_array(y_in) / MAX_TP
        stop = windows[k + 1].start if k + 1 < len(windows) else n_rows
        if stop > w.end + 1:
            after = rows[w.end + 1 : stop]
            if w.length > 1:
                unit_out[w.end + 1 : stop] = _sigmoid_array((after - w.end) / (w.length - 1))
            # A one-row window has no discount after it: every later FP costs A_FP.
    return FileLayout(
        n_rows=n_rows,
        probation=probation_rows(n_rows, probation_percent),
        windows=tuple(windows),
        window_id=window_id,
        unit_weight_in=unit_in,
        unit_weight_out=unit_out,
    )


@dataclass(frozen=True, slots=True)
class FileScore:
    score: float
    windows_hit: int
    windows_missed: int
    first_hits: tuple[int | None, ...]  # row of the earliest detection per counted window
    fp_rows: int  # detections outside windows
    fp_events: int  # runs of consecutive detections outside windows (alert starts)


def score_file(
    scores: FloatArray, file: FileLayout, profile: Profile, threshold: float
) -> FileScore:
    """The file's raw NAB score and counts at a fixed threshold (detection: ``a >= theta``)."""
    if len(scores) != file.n_rows:
        raise ValueError(f"{len(scores)} scores for a file of {file.n_rows} rows")
    detected = np.asarray(scores, dtype=np.float64) >= threshold
    detected[: file.probation] = False
    weights = file.weights(profile)
    outside = file.window_id < 0
    fp_mask = detected & outside
    total = float(weights[fp_mask].sum())
    starts = fp_mask & ~np.concatenate(([False], fp_mask[:-1]))
    hits = 0
    missed = 0
    first_hits: list[int | None] = []
    for w, counted in zip(file.windows, file.counted, strict=True):
        if not counted:
            continue
        rows = np.flatnonzero(detected[w.start : w.end + 1])
        if rows.size:
            first = w.start + int(rows[0])
            total += float(weights[first])
            hits += 1
            first_hits.append(first)
        else:
            total -= profile.fn
            missed += 1
            first_hits.append(None)
    return FileScore(
        score=total,
        windows_hit=hits,
        windows_missed=missed,
        first_hits=tuple(first_hits),
        fp_rows=int(fp_mask.sum()),
        fp_events=int(starts.sum()),
    )


def null_score(files: Sequence[FileLayout], profile: Profile) -> float:
    return -profile.fn * sum(sum(f.counted) for f in files)


def perfect_score(files: Sequence[FileLayout], profile: Profile) -> float:
    return profile.tp * sum(len(f.windows) for f in files)


def normalise(raw: float, files: Sequence[FileLayout], profile: Profile) -> float:
    """100 * (S - S_null) / (S_perfect - S_null): null scores 0, perfect 100."""
    s_null = null_score(files, profile)
    s_perfect = perfect_score(files, profile)
    if s_perfect == s_null:
        raise ValueError("the corpus has no windows, so a normalised NAB score is undefined")
    return 100.0 * (raw - s_null) / (s_perfect - s_null)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def sweep(
    scores: Sequence[FloatArray], files: Sequence[FileLayout], profile: Profile
) -> list[SweepPoint]:
    """The raw corpus score at every candidate threshold, highest threshold first.

    Candidates are 1.1 (no detections) and every distinct score of a scorable row. The
    score at a candidate counts the detections ``a >= candidate``.
    """
    if len(scores) != len(files):
        raise ValueError("one score array per file is needed")
    a_parts: list[FloatArray] = []
    w_parts: list[NDArray[np.int64]] = []
    v_parts: list[FloatArray] = []
    offset = 0
    for s, f in zip(scores, files, strict=True):
        if len(s) != f.n_rows:
            raise ValueError(f"{len(s)} scores for a file of {f.n_rows} rows")
        p = f.probation
        a_parts.append(np.asarray(s, dtype=np.float64)[p:])
        wid = f.window_id[p:]
        w_parts.append(np.where(wid >= 0, wid + offset, -1))
        v_parts.append(f.weights(profile)[p:])
        offset += len(f.windows)
    a = np.concatenate(a_parts) if a_parts else np.zeros(0)
    wid_all = np.concatenate(w_parts) if w_parts else np.zeros(0, dtype=np.int64)
    v = np.concatenate(v_parts) if v_parts else np.zeros(0)
    counted = sum(sum(f.counted) for f in files)
    return sweep_rows(a, wid_all, v, counted, profile.fn)


def sweep_rows(
    scores: FloatArray,
    window_ids: NDArray[np.int64],
    weights: FloatArray,
    counted_windows: int,
    fn_weight: float,
) -> list[SweepPoint]:
    """The sweep over pooled scorable rows: ``window_ids`` is -1 outside windows, else a
    corpus-wide window number; ``weights`` are the rows' v_i. Windows without rows here
    still count as missed (``counted_windows`` of them in all)."""
    order = np.argsort(-scores, kind="stable")
    a, wid_all, v = scores[order], window_ids[order], weights[order]
    inside = wid_all >= 0
    # Each row's change to the total when it becomes a detection.
    delta = np.where(inside, 0.0, v)
    for w in np.unique(wid_all[inside]):
        idx = np.flatnonzero(wid_all == w)
        best = np.maximum.accumulate(np.concatenate(([-fn_weight], v[idx])))
        delta[idx] = np.diff(best)
    base = -fn_weight * counted_windows
    totals = base + np.cumsum(delta)
    tp = np.cumsum(inside)
    fp = np.cumsum(~inside)
    n_in = int(inside.sum())
    n_out = int((~inside).sum())

    points = [SweepPoint(NO_DETECTION_THRESHOLD, base, 0, n_out, 0, n_in)]
    if a.size:
        last_of_group = np.flatnonzero(np.append(a[1:] != a[:-1], True))
        for i in last_of_group:
            tpi, fpi = int(tp[i]), int(fp[i])
            points.append(
                SweepPoint(float(a[i]), float(totals[i]), tpi, n_out - fpi, fpi, n_in - tpi)
            )
    return points


def best_threshold(points: Sequence[SweepPoint]) -> SweepPoint:
    """The highest-scoring point; on ties the highest threshold wins."""
    best = points[0]
    for p in points[1:]:
        if p.score > best.score:
            best = p
    return best
