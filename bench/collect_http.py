"""Scheduler + http check throughput on loopback: N http checks of one interval against a
FakeTarget, run for a bounded time with the real clock; prints checks/s, jitter of the run
times against their planned phase, and process CPU seconds per 1000 checks (the fake
target's server thread is in the same process, so this is an upper bound).

    .venv/bin/python bench/collect_http.py [--checks 50] [--interval 2] [--seconds 10]

The whole run is bounded by --seconds plus 30 s for shutting down.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.collect.scheduler import Scheduler, stable_offset
from watchkeeper.collect.targets import build_target
from watchkeeper.config.model import ServiceConfig
from watchkeeper.core.clock import SystemClock
from watchkeeper.testing.targets import FakeTarget
from watchkeeper.tsdb.base import AppendResult, Sample


class CountingStore:
    def __init__(self) -> None:
        self.samples = 0

    def append(self, samples: object, *, source: str | None = None) -> AppendResult:
        batch: list[Sample] = list(samples)  # type: ignore[call-overload]
        self.samples += len(batch)
        return AppendResult(appended=len(batch))


async def main(checks: int, interval: float, seconds: float) -> None:
    target = FakeTarget()
    server = target.serve().start()
    store = CountingStore()
    service = ServiceConfig(name="bench")
    targets = [
        build_target(
            service,
            HttpCheckConfig(name=f"c{i}", url=f"{server.url}/health?i={i}"),
            interval=interval,
            timeout=min(5.0, interval),
        )
        for i in range(checks)
    ]
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as http:
        scheduler = Scheduler(store, clock=SystemClock(), http=http)
        cpu0, t0 = time.process_time(), time.monotonic()
        await scheduler.start(targets)
        await asyncio.sleep(seconds)
        async with asyncio.timeout(30):
            await scheduler.stop()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    server.stop()
    statuses = scheduler.statuses()
    runs = sum(s.runs for s in statuses)
    failed = sum(s.failures for s in statuses)
    jitter = [
        abs(((s.last_run or 0) % interval) - stable_offset(s.key, interval))
        for s in statuses
        if s.last_run
    ]
    print(f"{checks} checks every {interval:g}s for {wall:.1f}s")
    print(f"checks/s            {runs / wall:10.1f}  (offered {checks / interval:.1f})")
    print(f"failed runs         {failed:10d}")
    print(f"samples appended    {store.samples:10d}")
    print(f"CPU s per 1000      {cpu / max(runs, 1) * 1000:10.2f}  (incl. the fake target)")
    if jitter:
        print(f"phase jitter p50    {statistics.median(jitter) * 1000:10.1f} ms")
        print(f"phase jitter max    {max(jitter) * 1000:10.1f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=50)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    if a.seconds > 120 or a.checks > 5000:
        raise SystemExit("bounded: at most 120 s and 5000 checks")
    asyncio.run(main(a.checks, a.interval, a.seconds))
