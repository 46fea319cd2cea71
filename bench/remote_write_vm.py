"""Remote-write throughput from Watchkeeper's sender to VictoriaMetrics. Prints one JSON
document.

    .venv/bin/python bench/remote_write_vm.py [--series 10000] [--rounds 60] [--repeat 2]

- VictoriaMetrics: started fresh for every trial on a free loopback port with its own
  temporary data directory, stopped by its PID.
- Sender: the production :class:`~watchkeeper.remote.writer.RemoteWriter` in this process,
  with its disk queue in a temporary directory (fsynced as configured), fed as the store
  feeds it: one ``enqueue`` per round of ``--series`` samples (a scrape's worth), as fast
  as the memory buffer takes them (feeding pauses while it is more than half full, so
  nothing is dropped and the figure is the sender's sustained rate).
- Figures per trial: samples/s from the first enqueue until the last request is accepted;
  CPU seconds per million samples of the sending process (all threads: encoding,
  compression, the disk queue, HTTP) and of VictoriaMetrics; VictoriaMetrics' own count of
  rows received (``vm_rows_inserted_total{type="promremotewrite"}``), which must equal the
  samples sent.

Every wait is bounded; ``--max-seconds`` bounds the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from remote_procs import (
    Deadline,
    counter_total,
    cpu_seconds,
    rss_mb,
    samples_for,
    series_labels,
    start_victoriametrics,
    victoriametrics_binary,
    vm_force_flush,
)

from watchkeeper.core.clock import SystemClock
from watchkeeper.remote.config import RemoteWriteConfig
from watchkeeper.remote.writer import RemoteWriteMetrics, RemoteWriter


def log(*parts: object) -> None:
    print("[remote_write_vm]", *parts, file=sys.stderr, flush=True)


async def feed_and_drain(
    writer: RemoteWriter, series: int, rounds: int, step_ms: int, deadline: Deadline
) -> float:
    labels = series_labels(series)
    last = (int(time.time()) - 60) * 1000
    first = last - (rounds - 1) * step_ms
    batches = [samples_for(labels, first + r * step_ms, r) for r in range(rounds)]
    capacity = writer.config.queue.capacity
    await writer.start()
    try:
        began = time.perf_counter()
        for batch in batches:
            while writer.pending > capacity // 2:
                deadline.check("feeding the sender")
                await asyncio.sleep(0.001)
            writer.enqueue(batch)
        await writer.flush()
        while writer.queue.depth().samples:
            deadline.check("draining the queue")
            await asyncio.sleep(0.005)
        return time.perf_counter() - began
    finally:
        await writer.stop()


def trial(args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="wk-bench-rw-vm-"))
    samples = args.series * args.rounds
    try:
        vm = start_victoriametrics(workdir / "vm")
        try:
            config = RemoteWriteConfig.model_validate(
                {
                    "url": vm.url + "/api/v1/write",
                    "name": "vm",
                    "queue": {
                        "max_samples_per_send": args.per_request,
                        "capacity": max(args.per_request, args.series * 4),
                        "batch_send_deadline": "1s",
                    },
                }
            )
            writer = RemoteWriter(
                config,
                directory=workdir / "queue",
                clock=SystemClock(),
                metrics=RemoteWriteMetrics(CollectorRegistry()),
            )
            vm_cpu0 = cpu_seconds(vm.pid)
            cpu0 = time.process_time()
            wall = asyncio.run(
                feed_and_drain(writer, args.series, args.rounds, args.step_ms, deadline)
            )
            cpu = time.process_time() - cpu0
            vm_cpu = cpu_seconds(vm.pid) - vm_cpu0
            vm_force_flush(vm)
            text = httpx.get(vm.url + "/metrics", timeout=30).text
            received = counter_total(text, "vm_rows_inserted_total", 'type="promremotewrite"')
            vm_rss = rss_mb(vm.pid)
        finally:
            vm.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "samples_per_s": round(samples / wall),
        "sender_cpu_s_per_million_samples": round(cpu / samples * 1e6, 3),
        "victoriametrics_cpu_s_per_million_samples": round(vm_cpu / samples * 1e6, 3),
        "wall_s": round(wall, 2),
        "samples": samples,
        "victoriametrics_rows_received": int(received),
        "all_samples_landed": int(received) == samples,
        "victoriametrics_rss_mb_end": round(vm_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--step-ms", type=int, default=10_000)
    parser.add_argument("--per-request", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if victoriametrics_binary() is None:
        raise SystemExit("victoria-metrics is not installed (apt-get install victoria-metrics)")
    deadline = Deadline(args.max_seconds)
    report: dict[str, Any] = {
        "benchmark": "remote_write_vm",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "data": {
            "series": args.series,
            "rounds": args.rounds,
            "samples": args.series * args.rounds,
            "samples_per_request": args.per_request,
        },
        "trials": [],
    }
    for n in range(args.repeat):
        deadline.check(f"starting trial {n + 1}")
        log(f"trial {n + 1}/{args.repeat}")
        result = trial(args, deadline)
        log(json.dumps(result))
        report["trials"].append(result)
    trials = report["trials"]
    report["summary"] = {
        key + "_median": statistics.median(t[key] for t in trials)
        for key in (
            "samples_per_s",
            "sender_cpu_s_per_million_samples",
            "victoriametrics_cpu_s_per_million_samples",
        )
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
