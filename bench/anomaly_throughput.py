"""Anomaly detector throughput on one core: points per second, vectorised and streaming.

    .venv/bin/python bench/anomaly_throughput.py [--nab DIR] [--repeat 5]

The process is pinned to one CPU and numeric libraries to one thread, so the figures are
per core. Each figure is given per CPU-second of the process (what one core delivers,
whatever else the machine runs) and per wall-clock second. The vectorised path
(``score_batch``) runs over every NAB series (or 180,000 synthetic points when the corpus
is absent), best of ``--repeat`` runs; the streaming path (``update``, one sample per
call, what a live rule does) runs over 30,000 points.
Prints one line per detector and path.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from watchkeeper.anomaly.registry import DETECTORS, create_detector  # noqa: E402

STREAM_POINTS = 30_000


def series(nab: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    windows = nab / "combined_windows.json"
    if windows.is_file():
        from watchkeeper.anomaly.nab.corpus import load_corpus

        files = load_corpus(nab / "data", windows)
        return [(f.series.timestamps, f.series.values) for f in files]
    print(f"(no NAB corpus at {nab}: using synthetic series)")
    rng = np.random.default_rng(0)
    out = []
    for _ in range(30):
        t = np.arange(6000) * 300.0
        out.append((t, np.cumsum(rng.normal(0, 1, 6000)) + rng.normal(0, 3, 6000)))
    return out


def main() -> None:
    default = os.environ.get("WATCHKEEPER_NAB_DATA")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--nab",
        type=Path,
        default=Path(default)
        if default
        else Path(__file__).resolve().parents[1].parent / "shared/data/nab",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    data = series(args.nab)
    points = sum(len(v) for _, v in data)
    stream_t = np.concatenate([t + i * 1e9 for i, (t, _) in enumerate(data)])[:STREAM_POINTS]
    stream_v = np.concatenate([v for _, v in data])[:STREAM_POINTS]
    for name in DETECTORS:
        best_cpu = best_wall = float("inf")
        for _ in range(args.repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            for t, v in data:
                create_detector(name).score_batch(t, v)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
        print(
            f"{name:<18} vectorised: {points / best_cpu:>11,.0f} points per CPU-second, "
            f"{points / best_wall:>11,.0f} per wall second ({points:,} points, best of "
            f"{args.repeat})"
        )
        detector = create_detector(name)
        update = detector.update
        cpu, wall = time.process_time(), time.perf_counter()
        for ts, value in zip(stream_t.tolist(), stream_v.tolist(), strict=True):
            update(ts, value)
        spent_cpu = time.process_time() - cpu
        spent_wall = time.perf_counter() - wall
        print(
            f"{name:<18} streaming:  {len(stream_v) / spent_cpu:>11,.0f} points per CPU-second, "
            f"{len(stream_v) / spent_wall:>11,.0f} per wall second "
            f"({len(stream_v):,} update() calls)"
        )


if __name__ == "__main__":
    main()
