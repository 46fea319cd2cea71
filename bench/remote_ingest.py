"""Remote-write ingestion: Watchkeeper's receiver next to Prometheus 2.42's own
(``--web.enable-remote-write-receiver``), fed by the same sender with the same bodies.
Prints one JSON document.

    .venv/bin/python bench/remote_ingest.py [--series 10000] [--rounds 60] [--repeat 2]

- Data: ``--series`` series (8 labels, node-exporter-like), ``--rounds`` samples each 10 s
  apart and ending a minute ago, encoded once as remote-write 1.0 bodies of
  ``--per-request`` samples by Watchkeeper's encoder; series are split into
  ``--connections`` shards, each sent in time order over its own keep-alive connection
  (as Prometheus' sender shards do).
- Sender: a separate process (its CPU is not charged to either receiver) that posts the
  pre-encoded bodies and counts the answers.
- Receivers, fresh for every trial: Watchkeeper as ``watchkeeper serve`` builds it (the
  runtime with its embedded store on disk, write-ahead log included, the web app with token
  authentication; the remote-write router mounted on it), and Prometheus with an empty
  data directory. Both on 127.0.0.1, stopped by their PID.
- Figures per trial: samples/s (all samples / wall time of the send), CPU seconds of the
  receiver process (user + system, all threads, from ``/proc``) per million samples, RSS
  at the end, and the receiver's own count of samples appended (every sample must land).
  ``ratios`` compares the medians (Watchkeeper / Prometheus): CPU per million samples
  (target: within 2x) and throughput.

Every wait is bounded; ``--max-seconds`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from remote_procs import (
    Dataset,
    Deadline,
    TSDBProcess,
    counter_total,
    cpu_seconds,
    dataset,
    prometheus_binary,
    rss_mb,
    start_prometheus,
)

from watchkeeper.testing.server import free_port
from watchkeeper.testing.tools import stop_process

HERE = Path(__file__).resolve()
PYTHON = sys.executable


def log(*parts: object) -> None:
    print("[remote_ingest]", *parts, file=sys.stderr, flush=True)


# --- the Watchkeeper receiver (child process) ----------------------------------------------


def serve_watchkeeper(data_dir: Path, port: int, token_file: Path) -> None:
    import uvicorn

    from watchkeeper.config.loader import load_config_text
    from watchkeeper.runtime.app import Runtime
    from watchkeeper.security.permissions import Permission, Role
    from watchkeeper.security.principal import system_principal
    from watchkeeper.web.app import create_app

    config = f"storage: {{path: '{data_dir}'}}\n"
    rt = Runtime(load_config_text(config, base_dir=data_dir))
    with rt.db.begin() as conn:
        token, _ = rt.security.tokens.create(
            conn,
            system_principal("cli:bench"),
            "bench",
            Role.ADMIN,
            scopes=frozenset({Permission.METRICS_WRITE}),
        )
    app = create_app(rt)  # the remote-write receiver is mounted as in `serve`
    token_file.write_text(token)
    try:
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    finally:
        rt.store.close()
        rt.db.dispose()


class WatchkeeperReceiver:
    name = "watchkeeper"

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_url = self.url + "/prometheus/api/v1/write"
        token_file = workdir / "token"
        self._log = (workdir / "watchkeeper.log").open("wb")
        argv = [PYTHON, str(HERE), "--serve-watchkeeper", str(workdir / "data")]
        argv += ["--port", str(self.port), "--token-file", str(token_file)]
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                tail = Path(self._log.name).read_text(errors="replace")[-3000:]
                raise SystemExit(f"the Watchkeeper receiver exited:\n{tail}")
            try:
                if token_file.exists() and httpx.get(self.url + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit("the Watchkeeper receiver did not start in 60s")
        self.token: str | None = token_file.read_text().strip()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def appended(self) -> float:
        text = httpx.get(self.url + "/metrics", timeout=30).text
        return counter_total(text, "watchkeeper_push_samples_appended_total", "remote_write")

    def stop(self) -> None:
        stop_process(self.proc, 30)
        self._log.close()


class PrometheusReceiver:
    name = "prometheus"

    def __init__(self, workdir: Path) -> None:
        self.process: TSDBProcess = start_prometheus(
            workdir, "global: {scrape_interval: 1h}\n", receiver=True
        )
        self.url = self.process.url
        self.write_url = self.url + "/api/v1/write"
        self.token: str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def appended(self) -> float:
        text = httpx.get(self.url + "/metrics", timeout=30).text
        return counter_total(text, "prometheus_tsdb_head_samples_appended_total")

    def stop(self) -> None:
        self.process.stop()


# --- the sender (child process) ------------------------------------------------------------


def send(data_file: Path, url: str, token: str | None) -> None:
    shards: list[list[bytes]] = pickle.loads(data_file.read_bytes())  # noqa: S301 (our own file)
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    codes: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(shards) + 1)

    def run(bodies: list[bytes]) -> None:
        with httpx.Client(headers=headers, timeout=120) as client:
            start.wait()
            for payload in bodies:
                code = client.post(url, content=payload).status_code
                with lock:
                    codes[code] = codes.get(code, 0) + 1

    threads = [threading.Thread(target=run, args=(s,)) for s in shards]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    print(json.dumps({"wall_s": wall, "codes": codes, "cpu_s": time.process_time()}))


# --- orchestration -------------------------------------------------------------------------


def start_receiver(kind: str, workdir: Path) -> WatchkeeperReceiver | PrometheusReceiver:
    """A fresh receiver; a start that fails (e.g. another process took the free port in
    the meantime) is retried twice in a new directory."""
    for attempt in range(3):
        where = workdir / f"attempt-{attempt}"
        where.mkdir()
        try:
            if kind == "watchkeeper":
                return WatchkeeperReceiver(where)
            return PrometheusReceiver(where)
        except (SystemExit, RuntimeError) as exc:
            log(f"{kind} did not start ({str(exc)[-500:]}); retrying")
    raise SystemExit(f"{kind} did not start in three attempts")


def trial(kind: str, data: Dataset, data_file: Path, deadline: Deadline) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"wk-bench-rw-{kind}-"))
    receiver: WatchkeeperReceiver | PrometheusReceiver
    try:
        receiver = start_receiver(kind, workdir)
        try:
            time.sleep(1.0)  # let start-up work settle before counting CPU
            cpu0 = cpu_seconds(receiver.pid)
            argv = [PYTHON, str(HERE), "--send", str(data_file), "--url", receiver.write_url]
            if receiver.token:
                argv += ["--token", receiver.token]
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=max(30.0, deadline.left())
            )
            cpu = cpu_seconds(receiver.pid) - cpu0
            if done.returncode != 0:
                raise SystemExit(f"the sender failed:\n{done.stderr[-2000:]}")
            sent = json.loads(done.stdout)
            appended = receiver.appended()
            rss = rss_mb(receiver.pid)
        finally:
            receiver.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    codes = {str(k): v for k, v in sent["codes"].items()}
    return {
        "system": kind,
        "samples_per_s": round(data.samples / sent["wall_s"]),
        "cpu_s_per_million_samples": round(cpu / data.samples * 1e6, 3),
        "receiver_cpu_s": round(cpu, 2),
        "wall_s": round(sent["wall_s"], 2),
        "rss_mb_end": round(rss, 1),
        "samples_appended": int(appended),
        "all_samples_landed": int(appended) >= data.samples,
        "responses": codes,
        "sender_cpu_s": round(sent["cpu_s"], 2),
    }


def summarize(trials: list[dict[str, Any]], system: str) -> dict[str, float]:
    mine = [t for t in trials if t["system"] == system]
    return {
        "samples_per_s_median": statistics.median(t["samples_per_s"] for t in mine),
        "cpu_s_per_million_median": statistics.median(t["cpu_s_per_million_samples"] for t in mine),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--per-request", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=("watchkeeper", "prometheus"))
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--serve-watchkeeper", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--send", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_watchkeeper is not None:
        serve_watchkeeper(args.serve_watchkeeper, args.port, args.token_file)
        return
    if args.send is not None:
        send(args.send, args.url, args.token)
        return

    deadline = Deadline(args.max_seconds)
    systems = [args.only] if args.only else ["watchkeeper", "prometheus"]
    if "prometheus" in systems and prometheus_binary() is None:
        raise SystemExit("prometheus is not installed (apt-get install prometheus)")
    log(f"encoding {args.series} series x {args.rounds} rounds")
    started = time.perf_counter()
    data = dataset(args.series, args.rounds, args.per_request, args.connections)
    encode_s = time.perf_counter() - started
    report: dict[str, Any] = {
        "benchmark": "remote_ingest",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "data": {
            "series": data.series,
            "samples": data.samples,
            "requests": data.requests,
            "samples_per_request": args.per_request,
            "connections": args.connections,
            "compressed_bytes": data.bytes,
            "watchkeeper_encoder_us_per_sample": round(encode_s / data.samples * 1e6, 2),
        },
        "trials": [],
    }
    with tempfile.TemporaryDirectory(prefix="wk-bench-rw-") as tmp:
        data_file = Path(tmp) / "bodies.pickle"
        data_file.write_bytes(pickle.dumps(data.shards))
        for n in range(args.repeat):
            for system in systems:
                deadline.check(f"starting {system} trial {n + 1}")
                log(f"trial {n + 1}/{args.repeat}: {system}")
                result = trial(system, data, data_file, deadline)
                log(json.dumps(result))
                report["trials"].append(result)
    report["summary"] = {s: summarize(report["trials"], s) for s in systems}
    if len(systems) == 2:
        wk, prom = report["summary"]["watchkeeper"], report["summary"]["prometheus"]
        report["ratios"] = {
            "cpu_per_million_watchkeeper_over_prometheus": round(
                wk["cpu_s_per_million_median"] / prom["cpu_s_per_million_median"], 2
            ),
            "throughput_watchkeeper_over_prometheus": round(
                wk["samples_per_s_median"] / prom["samples_per_s_median"], 2
            ),
            "target": "CPU per million samples within 2x of Prometheus",
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
