"""The embedded TSDB side by side with Prometheus 2.42 on the same data, as ratios
(ours / Prometheus; below 1 means we use less). Prints one JSON document.

    .venv/bin/python bench/tsdb_vs_prometheus.py [--quick] [--skip-memory]

- ``disk``: the same OpenMetrics files (one per kind of series, 24 h at 15 s) loaded by
  ``promtool tsdb create-blocks-from openmetrics`` and by ``watchkeeper tsdb import
  openmetrics`` (in-process: parse, write, compact): bytes per sample on disk (Prometheus:
  the blocks' ``chunks/`` and whole block directories; ours: chunk payloads and the
  SQLite file after VACUUM) and CPU seconds per million samples for the whole import.
- ``memory``: RSS growth per 10k active series with 60 samples each. Prometheus scrapes a
  local target serving 10k series every second; its RSS is read before the target is
  added (SIGHUP reload) and after 60 scrapes. Ours: the same series and sample count in
  a child process (``bench/tsdb_store.py``'s memory section).

Processes are started on 127.0.0.1 only and stopped by their PID; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from tsdb_store import DAY_MS, STEP_MS, bench_memory, calibration, dataset

from watchkeeper.core.clock import FakeClock
from watchkeeper.testing.server import free_port
from watchkeeper.testing.tools import stop_process
from watchkeeper.tsdb.base import SeriesData
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore
from watchkeeper.tsdb.openmetrics import as_arrays, parse_openmetrics, write_series

KINDS = ("counter", "gauge2", "const", "float")
_T0 = time.monotonic()


def log(*parts: object) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s]", *parts, file=sys.stderr, flush=True)


def dir_bytes(path: Path, sub: str | None = None) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and (sub is None or sub in p.parts):
            total += p.stat().st_size
    return total


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_disk(series: int, promtool: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KINDS:
        log("disk:", kind)
        clock = FakeClock()
        end_ms = int(clock.now() * 1000)
        data = dataset(kind, series, end_ms)
        samples = sum(int(t.size) for t, _ in data.values())
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            om = root / f"{kind}.om"
            with om.open("w") as fh:
                for labels in sorted(data):
                    ts, vals = data[labels]
                    write_series(fh, SeriesData(labels, ts, vals))
                fh.write("# EOF\n")
            prom = root / "prom"
            c0 = children_cpu()
            subprocess.run(
                [
                    promtool,
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    "-q",
                    str(om),
                    str(prom),
                ],
                check=True,
                timeout=600,
                capture_output=True,
            )
            prom_cpu = children_cpu() - c0
            prom_chunks = dir_bytes(prom, "chunks")
            prom_total = dir_bytes(prom)

            started = time.process_time()
            store = EmbeddedStore.open(
                StorageConfig.model_validate({"path": str(root / "wk"), "retention": "10y"}),
                clock=clock,
                background=False,
            )
            with om.open() as fh:
                parsed = parse_openmetrics(fh, str(om))
            clock.set(clock.now() + 3 * 3600)
            store.import_series({k: as_arrays(v) for k, v in parsed.series.items()})
            store.close()
            ours_cpu = time.process_time() - started
            db = root / "wk" / "tsdb" / "chunks.sqlite"
            with sqlite3.connect(db) as conn:
                chunk_bytes = conn.execute("SELECT SUM(LENGTH(data)) FROM chunks").fetchone()[0]
                conn.execute("VACUUM")
            conn.close()
            file_bytes = db.stat().st_size
        out[kind] = {
            "samples": samples,
            "prometheus_chunk_bytes_per_sample": round(prom_chunks / samples, 3),
            "prometheus_block_bytes_per_sample": round(prom_total / samples, 3),
            "ours_chunk_bytes_per_sample": round(chunk_bytes / samples, 3),
            "ours_file_bytes_per_sample": round(file_bytes / samples, 3),
            "ratio_file_vs_blocks": round(file_bytes / prom_total, 2),
            "ratio_chunks_vs_chunks": round(chunk_bytes / prom_chunks, 2),
            "prometheus_import_cpu_s_per_million": round(prom_cpu / samples * 1e6, 3),
            "ours_import_cpu_s_per_million": round(ours_cpu / samples * 1e6, 3),
            "ratio_import_cpu": round(ours_cpu / prom_cpu, 2),
        }
    return {
        "series_per_kind": series,
        "span_h": DAY_MS // 3_600_000,
        "step_s": STEP_MS // 1000,
        "kinds": out,
    }


# ----- memory


def rss_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def exposition(series: int, variant: int) -> bytes:
    rng = np.random.default_rng(variant)
    vals = np.round(rng.uniform(0, 100, series), 2)
    lines = []
    for i in range(series):
        lines.append(f'bench_gauge_{i // 20:04d}{{idx="{i}",shard="{i % 7}"}} {vals[i]}')
    return ("\n".join(lines) + "\n").encode()


def serve(series: int) -> tuple[ThreadingHTTPServer, int]:
    bodies = [exposition(series, v) for v in range(4)]
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[count[0] % len(bodies)]
            count[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def self_metric(port: int, name: str) -> float:
    """A value from Prometheus's own /metrics, summed over its label sets (it does not
    scrape itself here)."""
    total = 0.0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith((name + " ", name + "{")):
                total += float(line.rsplit(" ", 1)[1])
    return total


def prometheus_memory(prometheus: str, series: int, scrapes: int) -> dict[str, Any]:
    server, target_port = serve(series)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n")
        logfile = (Path(tmp) / "prometheus.log").open("w")
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={tmp}/data",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=logfile,
            stderr=logfile,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            time.sleep(5)
            base = rss_of(proc.pid)
            log("prometheus ready, baseline RSS", base)
            cfg.write_text(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: bench\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
            )
            os.kill(proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + scrapes + 60
            while time.monotonic() < deadline:
                time.sleep(1)
                appended = self_metric(port, "prometheus_tsdb_head_samples_appended_total")
                if appended >= (series + 5) * scrapes:
                    break
            grown = rss_of(proc.pid) - base
            log("prometheus appended", appended)
            head_series = self_metric(port, "prometheus_tsdb_head_series")
        finally:
            stop_process(proc)
            logfile.close()
            server.shutdown()
            server.server_close()
    return {
        "series": series,
        "samples_per_series": scrapes,
        "head_series": head_series,
        "rss_growth_bytes": grown,
        "bytes_per_series": round(grown / series),
        "rss_per_10k_series_mb": round(grown / series * 10_000 / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise SystemExit("needs prometheus and promtool on PATH (apt-get install prometheus)")
    version = subprocess.run([prometheus, "--version"], capture_output=True, text=True).stdout
    report: dict[str, Any] = {
        "prometheus": version.splitlines()[0] if version else "?",
        "calibration": calibration(),
    }
    report["disk"] = bench_disk(20 if args.quick else 100, promtool)
    if not args.skip_memory:
        series = 2000 if args.quick else 10_000
        scrapes = 20 if args.quick else 60
        prom = prometheus_memory(prometheus, series, scrapes)
        ours = bench_memory(series, scrapes, 1000, 10**9)
        report["memory"] = {
            "prometheus": prom,
            "ours": ours,
            "ratio": round(ours["rss_growth_bytes"] / max(1, prom["rss_growth_bytes"]), 2),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
