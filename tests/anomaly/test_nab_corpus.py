"""The scorer and the default detector on the NAB files shipped beside the repository.

The scorer is checked against a literal, row-by-row transcription of the README's
pseudocode (section 3.8) and against the README's invariants; the default detector's
figures are pinned so the documented numbers cannot drift from the code.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter

import numpy as np
import pytest

from watchkeeper.anomaly.nab.corpus import NabFile
from watchkeeper.anomaly.nab.runner import evaluate, run_detector
from watchkeeper.anomaly.nab.scoring import (
    PROFILES,
    Profile,
    ProfileName,
    best_threshold,
    normalise,
    score_file,
    sweep,
)
from watchkeeper.anomaly.registry import create_detector

from .conftest import require_nab


def _sig(y: float) -> float:
    return -1.0 if y > 3 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def readme_pseudocode(f: NabFile, scores: np.ndarray, theta: float, prof: Profile) -> float:
    """Section 3.8 of the README, transcribed literally (one row at a time)."""
    n = f.layout.n_rows
    p = min(math.floor(0.15 * n), 750)
    wins = [(w.start, w.end) for w in f.layout.windows]
    best = {w: -prof.fn for w in wins if w[1] >= p}
    total = 0.0
    prev_end = prev_len = None
    for i in range(n):
        w = next((w for w in wins if w[0] <= i <= w[1]), None)
        if w is not None:
            length = w[1] - w[0] + 1
            v = prof.tp * _sig(-(w[1] - i + 1) / length) / _sig(-1.0)
        elif prev_end is None:
            v = -prof.fp
        else:
            v = prof.fp * _sig((i - prev_end) / (prev_len - 1))
        if i >= p and scores[i] >= theta:
            if w is not None:
                best[w] = max(best[w], v)
            else:
                total += v
        if w is not None and i == w[1]:
            prev_end, prev_len = i, w[1] - w[0] + 1
    return total + sum(best.values())


def test_the_corpus_loads_every_labelled_file_row_and_window(nab_corpus: list[NabFile]) -> None:
    root = require_nab()
    windows = json.loads((root / "combined_windows.json").read_text())
    rows = 0
    for key in windows:
        with (root / "data" / key).open() as fh:
            rows += sum(1 for _ in csv.reader(fh)) - 1
    assert [f.key for f in nab_corpus] == sorted(windows)
    assert sum(f.layout.n_rows for f in nab_corpus) == rows
    assert sum(len(f.layout.windows) for f in nab_corpus) == sum(len(w) for w in windows.values())
    per_category = Counter()
    for f in nab_corpus:
        per_category[f.category] += len(f.layout.windows)
        assert all(w.start >= f.layout.probation for w in f.layout.windows)
    assert per_category["artificialNoAnomaly"] == 0


def test_the_scorer_matches_the_readme_pseudocode_row_by_row(nab_corpus: list[NabFile]) -> None:
    rng = np.random.default_rng(5)
    for f in nab_corpus[::4]:
        n = f.layout.n_rows
        candidates = {
            "random": np.round(rng.random(n), 1),
            "always": np.ones(n),
            "late": np.isin(np.arange(n), [w.end for w in f.layout.windows]).astype(float),
        }
        for scores in candidates.values():
            for prof in PROFILES.values():
                ours = score_file(scores, f.layout, prof, 0.5).score
                assert ours == pytest.approx(readme_pseudocode(f, scores, 0.5, prof), abs=1e-6)


def _marks(nab_corpus: list[NabFile], rows_of: object) -> list[np.ndarray]:
    out = []
    for f in nab_corpus:
        s = np.zeros(f.layout.n_rows)
        s[[r for r in rows_of(f) if r < f.layout.n_rows]] = 1.0  # type: ignore[operator]
        out.append(s)
    return out


def _normalised(nab_corpus: list[NabFile], scores: list[np.ndarray]) -> dict[str, float]:
    layouts = [f.layout for f in nab_corpus]
    result = {}
    for name, prof in PROFILES.items():
        raw = sum(
            score_file(s, lay, prof, 0.5).score for s, lay in zip(scores, layouts, strict=True)
        )
        result[name.value] = normalise(raw, layouts, prof)
    return result


def test_null_perfect_and_late_detectors_score_as_the_readme_says(
    nab_corpus: list[NabFile],
) -> None:
    null = _normalised(nab_corpus, [np.zeros(f.layout.n_rows) for f in nab_corpus])
    assert null == {"standard": 0.0, "reward_low_FP_rate": 0.0, "reward_low_FN_rate": 0.0}
    perfect = _normalised(
        nab_corpus, _marks(nab_corpus, lambda f: [w.start for w in f.layout.windows])
    )
    assert perfect == pytest.approx({k: 100.0 for k in null})
    late = _normalised(nab_corpus, _marks(nab_corpus, lambda f: [w.end for w in f.layout.windows]))
    # The late detector scores the same raw value in every profile; only the null differs.
    windows = sum(len(f.layout.windows) for f in nab_corpus)
    raw = late["standard"] * 2 * windows / 100 - windows
    assert late["reward_low_FN_rate"] == pytest.approx(100 * (raw + 2 * windows) / (3 * windows))
    assert 50 < late["standard"] < 52


def test_one_early_false_positive_per_file_costs_exactly_a_fp_each(
    nab_corpus: list[NabFile],
) -> None:
    scores = _marks(
        nab_corpus,
        lambda f: [w.start for w in f.layout.windows] + [f.layout.probation],
    )
    layouts = [f.layout for f in nab_corpus]
    windows = sum(len(lay.windows) for lay in layouts)
    for prof in PROFILES.values():
        raw = sum(
            score_file(s, lay, prof, 0.5).score for s, lay in zip(scores, layouts, strict=True)
        )
        assert raw == pytest.approx(windows * prof.tp - len(layouts) * prof.fp)


def test_the_sweep_never_scores_below_null_and_agrees_with_direct_scoring(
    nab_corpus: list[NabFile],
) -> None:
    rng = np.random.default_rng(9)
    scores = [np.round(rng.random(f.layout.n_rows) ** 8, 3) for f in nab_corpus]
    layouts = [f.layout for f in nab_corpus]
    for prof in PROFILES.values():
        best = best_threshold(sweep(scores, layouts, prof))
        direct = sum(
            score_file(s, lay, prof, best.threshold).score
            for s, lay in zip(scores, layouts, strict=True)
        )
        assert best.score == pytest.approx(direct, abs=1e-6)
        assert normalise(best.score, layouts, prof) >= 0.0


def test_the_default_detector_meets_the_targets_on_the_corpus(nab_corpus: list[NabFile]) -> None:
    scores, _ = run_detector(nab_corpus, lambda: create_detector())
    report = evaluate(nab_corpus, scores, 0.5)
    standard = report.profile(ProfileName.STANDARD)
    assert standard.score == pytest.approx(70.76, abs=0.005)
    assert standard.score > 70.0
    assert report.counts.no_anomaly_alert_starts == 0
    assert (report.counts.windows_hit, report.counts.windows_missed) == (51, 6)
    assert report.counts.alert_starts_outside == 121
