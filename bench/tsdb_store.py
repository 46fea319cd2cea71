"""The embedded TSDB on its own: append throughput and CPU, head memory per series, on-disk
bytes per sample after compaction, and select latency. Prints one JSON document.

    .venv/bin/python bench/tsdb_store.py [--quick]

Sections (each bounded; the whole run takes about a minute, ``--quick`` a few seconds):
- ``append``: scrape-like batches of 1,000 samples per target (``source`` set), timestamps
  5 s apart, one head flush every 24 rounds (2 minutes of data) counted in the CPU;
  reported for steady state and for the first round (series creation) separately.
- ``memory``: in a child process, RSS growth per 10k active series with 60 samples each
  (15 minutes at 15 s: the default head window), flushed every 2 minutes of data.
- ``disk``: bytes per sample in SQLite after compaction, per kind of series (see
  bench/tsdb_codec.py for the kinds), 100 series x 24 h at 15 s each.
- ``select``: 1,000 series x 24 h at 15 s (chunks on disk + head), and an instant lookup
  (last 5 minutes) over 10,000 series held in the head; median of repeated runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels, Matcher, MatchOp
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

STEP_MS = 15_000
DAY_MS = 86_400_000


def target_labels(target: int, series: int, name_prefix: str = "bench_gauge") -> list[Labels]:
    return [
        Labels(
            {
                "__name__": f"{name_prefix}_{i // 20:04d}",
                "idx": str(i),
                "shard": str(i % 7),
                "instance": f"127.0.0.1:{9000 + target}",
                "job": "bench",
            }
        )
        for i in range(series)
    ]


def open_store(path: Path, clock: FakeClock, **extra: Any) -> EmbeddedStore:
    cfg = StorageConfig.model_validate({"path": str(path), **extra})
    return EmbeddedStore.open(cfg, clock=clock, background=False)


def calibration() -> dict[str, float]:
    """How fast this machine runs plain Python and NumPy right now (the machine may be
    shared: compare figures from runs with similar calibration only)."""
    w0, c0 = time.perf_counter(), time.process_time()
    sum(range(5_000_000))
    loop = time.perf_counter() - w0, time.process_time() - c0
    a = np.arange(2_000_000, dtype=np.int64)
    w0 = time.perf_counter()
    for _ in range(5):
        np.cumsum(a)
    return {
        "python_sum_5e6_wall_s": round(loop[0], 3),
        "python_sum_5e6_cpu_s": round(loop[1], 3),
        "numpy_cumsum_2e6_ms": round((time.perf_counter() - w0) / 5 * 1000, 2),
    }


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ----- append


def bench_append(targets: int, rounds: int) -> dict[str, Any]:
    clock = FakeClock()
    labels = [target_labels(t, 1000) for t in range(targets)]
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), clock)
        t0 = int(clock.now() * 1000)

        def batch(t: int, r: int) -> list[tuple[Labels, int, float]]:
            # Fresh Labels objects, as a parser produces them every scrape.
            vals = np.round(rng.uniform(0, 100, 1000), 2).tolist()
            return [
                (Labels(lab.items_tuple), t0 + r * 5000, v)
                for lab, v in zip(labels[t], vals, strict=True)
            ]

        first = [batch(t, 0) for t in range(targets)]
        started = time.process_time()
        for t, b in enumerate(first):
            store.append(b, source=f"t{t}")
        first_cpu = time.process_time() - started
        cpu = 0.0
        wall = 0.0
        appended = 0
        for r in range(1, rounds + 1):
            batches = [batch(t, r) for t in range(targets)]
            clock.set(clock.now() + 5)
            w0, c0 = time.perf_counter(), time.process_time()
            for t, b in enumerate(batches):
                appended += store.append(b, source=f"t{t}").appended
            if r % 24 == 0:
                store.flush_head()
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
        store.close()
    return {
        "targets": targets,
        "series": targets * 1000,
        "batch_samples": 1000,
        "steady_rounds": rounds,
        "samples_per_s": round(appended / wall),
        "cpu_s_per_million_samples": round(cpu / appended * 1e6, 3),
        "first_round_cpu_s_per_million_samples": round(first_cpu / (targets * 1000) * 1e6, 3),
    }


# ----- memory (child process)


def memory_child(series: int, rounds: int, step_ms: int, flush_every: int) -> dict[str, Any]:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), clock)
        gc.collect()
        base = rss_bytes()
        labels = [lab for t in range(series // 1000) for lab in target_labels(t, 1000)]
        t0 = int(clock.now() * 1000)
        for r in range(rounds):
            clock.set(clock.now() + step_ms / 1000)
            ts = t0 + r * step_ms
            vals = np.round(np.random.default_rng(r).uniform(0, 100, len(labels)), 2).tolist()
            for k in range(0, len(labels), 1000):
                store.append(
                    [
                        (lab, ts, v)
                        for lab, v in zip(labels[k : k + 1000], vals[k : k + 1000], strict=True)
                    ],
                    source=f"t{k // 1000}",
                )
            if (r + 1) % flush_every == 0:
                store.flush_head()
        del labels
        gc.collect()
        grown = rss_bytes() - base
        stats = store.stats()
        store.close()
    return {
        "series": series,
        "samples_per_series": rounds,
        "head_samples": stats.samples_in_head,
        "rss_growth_bytes": grown,
        "bytes_per_series": round(grown / series),
        "rss_per_10k_series_mb": round(grown / series * 10_000 / 2**20, 1),
    }


def bench_memory(series: int, rounds: int, step_ms: int, flush_every: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child-memory",
            json.dumps([series, rounds, step_ms, flush_every]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# ----- disk


def kind_values(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "counter":
        return np.cumsum(rng.integers(0, 40, n)).astype(np.float64)
    if kind == "gauge2":
        return np.round(rng.uniform(0, 100, n), 2)
    if kind == "const":
        return np.ones(n)
    return rng.uniform(0, 1, n) * rng.uniform(0.001, 1000)


def dataset(
    kind: str, series: int, end_ms: int, seed: int = 3
) -> dict[Labels, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n = DAY_MS // STEP_MS
    out = {}
    for i in range(series):
        ts = end_ms - DAY_MS + np.arange(n, dtype=np.int64) * STEP_MS + rng.integers(-5, 6, n)
        out[Labels({"__name__": f"bench_{kind}", "idx": str(i)})] = (ts, kind_values(kind, rng, n))
    return out


def bench_disk(series: int) -> dict[str, Any]:
    import sqlite3

    results = {}
    for kind in ("counter", "gauge2", "const", "float"):
        clock = FakeClock()
        end_ms = int(clock.now() * 1000)
        data = dataset(kind, series, end_ms)
        samples = sum(int(t.size) for t, _ in data.values())
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp), clock)
            store.import_series(data)
            clock.set(clock.now() + 3 * 3600)
            store.compact()
            store.close()
            db = Path(tmp) / "tsdb" / "chunks.sqlite"
            with sqlite3.connect(db) as conn:
                chunk_bytes = conn.execute("SELECT SUM(LENGTH(data)) FROM chunks").fetchone()[0]
                rollup_bytes = conn.execute("SELECT SUM(LENGTH(data)) FROM rollups").fetchone()[0]
                conn.execute("VACUUM")
            conn.close()
            file_bytes = db.stat().st_size
        results[kind] = {
            "samples": samples,
            "chunk_bytes_per_sample": round(chunk_bytes / samples, 3),
            "file_bytes_per_sample": round(file_bytes / samples, 3),
            "rollup_bytes_per_sample": round(rollup_bytes / samples, 3),
        }
    return {"series_per_kind": series, "span_h": 24, "step_s": 15, "kinds": results}


# ----- select


def bench_select(range_series: int, instant_series: int, repeats: int) -> dict[str, Any]:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), clock)
        head_ms = 15 * 60_000
        end_ms = int(clock.now() * 1000) + head_ms
        data = dataset("counter", range_series, end_ms)
        old = {}
        recent = []
        for lab, (ts, vals) in data.items():
            cut = int(np.searchsorted(ts, end_ms - head_ms))
            old[lab] = (ts[:cut], vals[:cut])
            recent.append((lab, ts[cut:], vals[cut:]))
        store.import_series(old)
        for k in range(max(int(ts.size) for _, ts, _ in recent)):
            clock.set(clock.now() + STEP_MS / 1000)
            store.append([(lab, int(ts[k]), float(v[k])) for lab, ts, v in recent if k < ts.size])
        samples = sum(int(t.size) for t, _ in data.values())
        name = [Matcher("__name__", MatchOp.EQUAL, "bench_counter")]
        times = []
        for _ in range(repeats):
            w0 = time.perf_counter()
            found = store.select(name, end_ms - DAY_MS - 60_000, end_ms)
            times.append(time.perf_counter() - w0)
        got = sum(int(d.timestamps.size) for d in found)
        if got != samples:
            raise SystemExit(f"select returned {got} samples, expected {samples}")
        range_result = {
            "series": range_series,
            "samples": samples,
            "median_s": round(statistics.median(times), 4),
            "samples_per_s": round(samples / statistics.median(times)),
        }
        # Instant lookup over many series held in the head.
        labels = [
            lab for t in range(instant_series // 1000) for lab in target_labels(t, 1000, "inst")
        ]
        now = end_ms
        for r in range(20):
            store.append([(lab, now - (20 - r) * STEP_MS, float(r)) for lab in labels])
        inst = [Matcher("__name__", MatchOp.REGEX, "inst_.*")]
        one = [
            Matcher("__name__", MatchOp.EQUAL, "inst_0007"),
            Matcher("idx", MatchOp.EQUAL, "142"),
        ]
        inst_times, one_times = [], []
        for _ in range(repeats * 2):
            w0 = time.perf_counter()
            found = store.select(inst, now - 300_000, now)
            inst_times.append(time.perf_counter() - w0)
            w0 = time.perf_counter()
            store.select(one, now - 300_000, now)
            one_times.append(time.perf_counter() - w0)
        if len(found) != instant_series:
            raise SystemExit(f"instant select found {len(found)} series")
        store.close()
    return {
        "range_1k_series_24h": range_result,
        "instant_10k_series": {
            "series": instant_series,
            "median_s": round(statistics.median(inst_times), 4),
        },
        "instant_one_series_by_two_labels_median_ms": round(statistics.median(one_times) * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        print(json.dumps(memory_child(*json.loads(args.child_memory))))
        return
    q = args.quick
    report = {
        "calibration": calibration(),
        "append": bench_append(targets=2 if q else 10, rounds=6 if q else 48),
        "memory": bench_memory(2000 if q else 10_000, 60, STEP_MS, 8),
        "disk": bench_disk(10 if q else 100),
        "select": bench_select(100 if q else 1000, 1000 if q else 10_000, 3 if q else 5),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
