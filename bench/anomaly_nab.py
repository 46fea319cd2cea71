"""NAB figures of the registered detectors, how well the default's settings generalise, and
its false-alert rate on pure noise.

    .venv/bin/python bench/anomaly_nab.py [--nab DIR] [--quick]

DIR holds ``data/`` and ``combined_windows.json`` (default: ``../shared/data/nab`` next to
the repository, or ``$WATCHKEEPER_NAB_DATA``).

Generalisation: the default settings were chosen on these files, so the score on them is
optimistic. To estimate the score on unseen series, the detector's main settings are
re-chosen on part of the corpus only and scored on the rest:

* leave one category out: for each category, pick the settings that score best on the
  other six, score the held-out category with them; sum the held-out raw scores and
  normalise over the whole corpus;
* half splits: every way of splitting the categories into 3 + 4, tune on one side, score
  the other (normalised on that side), averaged over all splits, both directions.

Prints plain text (about a minute on one core; ``--quick`` uses a smaller grid).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from watchkeeper.anomaly.nab.corpus import NabFile, load_corpus
from watchkeeper.anomaly.nab.runner import evaluate, run_detector
from watchkeeper.anomaly.nab.scoring import PROFILES, ProfileName, normalise, score_file
from watchkeeper.anomaly.registry import DETECTORS, create_detector

STANDARD = PROFILES[ProfileName.STANDARD]
GRID = {"margin": (0.075, 0.1, 0.125, 0.15), "refractory": (50, 100, 200), "window": (36, 48, 60)}
QUICK_GRID = {"margin": (0.075, 0.1, 0.15), "refractory": (100,), "window": (48,)}


def default_nab_dir() -> Path:
    env = os.environ.get("WATCHKEEPER_NAB_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared/data/nab"


def report_detector(files: list[NabFile], name: str) -> None:
    scores, seconds = run_detector(files, lambda: create_detector(name))
    report = evaluate(files, scores, 0.5, seconds)
    c = report.counts
    print(f"\n== {name}: {report.points_per_second:,.0f} points/s (vectorised path)")
    print(f"   {'profile':<20}{'at 0.5':>9}{'optimised':>11}{'at threshold':>14}")
    for p in report.profiles:
        print(
            f"   {p.profile.value:<20}{p.score:>9.2f}{p.best_score:>11.2f}{p.best_threshold:>14.4f}"
        )
    print(
        f"   at 0.5: windows hit {c.windows_hit}/{c.windows}, missed {c.windows_missed}, "
        f"alert starts outside windows {c.alert_starts_outside} ({c.rows_outside} rows), "
        f"false alerts on artificialNoAnomaly {c.no_anomaly_alert_starts}, "
        f"mean hit position {c.mean_hit_position or 0:.2f}"
    )
    for cat, cc in report.per_category.items():
        print(
            f"     {cat:<24} hit {cc.windows_hit:>2} missed {cc.windows_missed:>2} "
            f"alerts outside {cc.alert_starts_outside:>3}"
        )


def per_file_scores(files: list[NabFile], params: dict[str, Any]) -> np.ndarray:
    out = []
    for f in files:
        s = create_detector("novelty", params).score_batch(f.series.timestamps, f.series.values)
        out.append(score_file(s, f.layout, STANDARD, 0.5).score)
    return np.array(out)


def generalisation(files: list[NabFile], grid: dict[str, tuple[Any, ...]]) -> None:
    configs = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    started = time.perf_counter()
    table = {i: per_file_scores(files, cfg) for i, cfg in enumerate(configs)}
    layouts = [f.layout for f in files]
    cats = sorted({f.category for f in files})
    idx = {c: [i for i, f in enumerate(files) if f.category == c] for c in cats}

    def norm(raw: float, rows: list[int]) -> float:
        return normalise(raw, [layouts[i] for i in rows], STANDARD)

    def best_on(rows: list[int]) -> int:
        return max(table, key=lambda k: (table[k][rows].sum(), -k))

    every = list(range(len(files)))
    in_sample = best_on(every)
    print(
        f"\n== generalisation of the novelty settings ({len(configs)} candidate settings: "
        f"{', '.join(f'{k} in {v}' for k, v in grid.items())})"
    )
    print(
        f"   best on all {len(files)} files: {configs[in_sample]} -> "
        f"{norm(table[in_sample].sum(), every):.2f}"
    )
    held_out = 0.0
    for c in cats:
        train = [i for i in every if i not in idx[c]]
        pick = best_on(train)
        held_out += table[pick][idx[c]].sum()
        print(f"   leave out {c:<24} tuned -> {configs[pick]}")
    print(
        f"   leave-one-category-out score (held-out raw summed, normalised): "
        f"{norm(held_out, every):.2f}"
    )
    tests, same = [], []
    for k in (3, 4):
        for side in itertools.combinations(cats, k):
            a = [i for c in side for i in idx[c]]
            b = [i for i in every if i not in a]
            if not any(layouts[i].windows for i in b):
                continue
            pick = best_on(a)
            tests.append(norm(table[pick][b].sum(), b))
            same.append(norm(table[in_sample][b].sum(), b))
    print(
        f"   half splits ({len(tests)}): tuned on one side, scored on the other: "
        f"mean {np.mean(tests):.2f} (min {np.min(tests):.2f}, max {np.max(tests):.2f}); "
        f"the all-files best on the same sides: {np.mean(same):.2f}"
    )
    print(f"   ({time.perf_counter() - started:.0f} s)")


def noise_false_alerts() -> None:
    print(
        "\n== false alerts of the default novelty detector on pure noise "
        "(wave of period 288 + noise, 10 series of 20,000 samples, first 400 skipped)"
    )
    for kind in ("uniform", "gaussian"):
        starts = samples = 0
        for seed in range(10):
            rng = np.random.default_rng(seed)
            n = 20_000
            t = np.arange(n)
            noise = rng.normal(0, 1, n) if kind == "gaussian" else rng.uniform(-2, 2, n)
            x = 10 + 3 * np.sin(2 * np.pi * t / 288) + noise
            s = create_detector("novelty").score_batch(t * 300.0, x)
            starts += int((s[400:] >= 0.5).sum())
            samples += n - 400
        rate = f"one per {samples // starts:,} samples" if starts else "none"
        print(f"   {kind:<9} noise: {starts} alert starts in {samples:,} samples ({rate})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nab", type=Path, default=default_nab_dir())
    parser.add_argument("--quick", action="store_true", help="a 3-setting grid")
    args = parser.parse_args()
    files = load_corpus(args.nab / "data", args.nab / "combined_windows.json")
    print(
        f"NAB corpus: {len(files)} files, {sum(f.layout.n_rows for f in files):,} rows, "
        f"{sum(len(f.layout.windows) for f in files)} windows"
    )
    for name in DETECTORS:
        report_detector(files, name)
    generalisation(files, QUICK_GRID if args.quick else GRID)
    noise_false_alerts()


if __name__ == "__main__":
    main()
