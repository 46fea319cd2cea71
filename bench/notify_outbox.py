"""Benchmark: notifications through the durable outbox to a local webhook.

0. the outbox alone: N notifications through outbox, worker and delivery log with an
   in-memory HTTP transport (what the database side costs).
1. throughput: N notifications enqueued at once, delivered to a loopback webhook sink (in
   its own process); notifications per second from the first enqueue to the last delivery.
2. latency under failures: notifications enqueued at a steady rate while the sink answers
   every 10th request with HTTP 500; delivery latency (enqueued -> the outbox recorded the
   sink's 2xx) percentiles, and how many were lost (target: p99 under 1 s, none lost).

Runs on SQLite and, when one answers on 127.0.0.1:5432, on PostgreSQL (a scratch database,
dropped afterwards). Every phase is bounded in count and time. Prints one JSON document.

    .venv/bin/python bench/notify_outbox.py [--count 1000] [--rate 20] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import AlertStatus, DeliveryStatus, NotificationEvent
from watchkeeper.notify.base import AlertData, NotificationMessage, dedup_key
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.state.db import Database, postgres_url, sqlite_url
from watchkeeper.testing import tools
from watchkeeper.testing.server import free_port

PHASE_LIMIT = 120.0  # seconds, per phase


def make_message(i: int, run: str) -> NotificationMessage:
    name = f"Bench{run}_{i}"
    alert = AlertData(
        status=AlertStatus.FIRING,
        labels={"alertname": name, "severity": "warning", "service": "bench"},
        annotations={"summary": f"benchmark alert {i}"},
        starts_at=time.time(),
        ends_at=None,
        generator_url="",
        fingerprint=f"{i:016x}",
    )
    group_key = f'{{}}:{{alertname="{name}"}}'
    return NotificationMessage(
        receiver="bench",
        status=AlertStatus.FIRING,
        alerts=(alert,),
        group_labels={"alertname": name},
        common_labels=dict(alert.labels),
        common_annotations=dict(alert.annotations),
        external_url="http://127.0.0.1:8080",
        group_key=group_key,
        event=NotificationEvent.FIRING,
        dedup_key=dedup_key(group_key, NotificationEvent.FIRING),
        created_at=time.time(),
    )


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100.0 * (len(ordered) - 1))))
    return ordered[k]


SINK_SCRIPT = """
import json, sys, time
from watchkeeper.testing.webhook_sink import WebhookSink
port, fail_every, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sink = WebhookSink(port=port, keep=1_000_000).start()
if fail_every:
    sink.faults.fail(500, seconds=limit, every=fail_every)
print("ready", flush=True)
sys.stdin.readline()
names = {d.body for d in sink.deliveries()}
print(json.dumps({"accepted": len(sink.deliveries()), "unique": len(names),
                  "answered_500": sink.faults.applied}), flush=True)
sink.stop()
"""


class SinkProcess:
    """The webhook sink in its own process, so that it does not share the benchmark's
    interpreter lock; stopped by its pid-owning Popen handle."""

    def __init__(self, fail_every: int) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SINK_SCRIPT, str(self.port), str(fail_every), str(PHASE_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError("the webhook sink process did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bench"

    def finish(self) -> dict[str, Any]:
        try:
            out, _ = self.proc.communicate("stop\n", timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return {}
        return dict(json.loads(out.strip().splitlines()[-1]))


async def run_phase(
    db: Database, *, count: int, rate: float | None, fail_every: int, in_memory: bool = False
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    sink = SinkProcess(fail_every)
    receivers = [
        ReceiverConfig.model_validate(
            {"name": "bench", "webhook_configs": [{"url": sink.url, "timeout": "5s"}]}
        )
    ]
    settings = NotifySettings.model_validate({"rate_limits": {}, "max_in_flight": 64})
    transport = (
        httpx.MockTransport(lambda _r: httpx.Response(200, text="ok")) if in_memory else None
    )
    service = NotifyService.build(
        db, receivers, clock=SystemClock(), settings=settings, transport=transport
    )
    dedup_keys: set[str] = set()
    await service.start()
    started = time.monotonic()
    try:
        for i in range(count):
            msg = make_message(i, run)
            dedup_keys.add(msg.dedup_key)
            service.outbox.enqueue("bench", msg)
            if rate:
                delay = started + (i + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 200 == 199:
                await asyncio.sleep(0)
        deadline = started + PHASE_LIMIT
        while time.monotonic() < deadline:
            depth = await asyncio.to_thread(service.outbox.depth)
            if depth[DeliveryStatus.PENDING] + depth[DeliveryStatus.SENDING] == 0:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        await service.stop(grace=2.0)
        seen = sink.finish()
    rows = []
    before = None
    while True:
        page = service.outbox.list_deliveries(receiver="bench", before=before, limit=1000)
        rows.extend(d for d in page.items if d.dedup_key in dedup_keys)
        if page.next_before is None:
            break
        before = page.next_before
    delivered = [d for d in rows if d.status is DeliveryStatus.DELIVERED]
    latencies = [d.finished_at - d.created_at for d in delivered if d.finished_at is not None]
    retried = sum(1 for d in delivered if d.attempts > 1)
    return {
        "notifications": count,
        "delivered": len(delivered),
        "lost": count - len(delivered),
        "sink_accepted_unique": seen.get("unique"),
        "sink_answered_500": seen.get("answered_500"),
        "delivered_after_retry": retried,
        "seconds": round(elapsed, 3),
        "per_second": round(len(delivered) / elapsed, 1) if elapsed else None,
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 1),
            "p95": round(percentile(latencies, 95) * 1000, 1),
            "p99": round(percentile(latencies, 99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1) if latencies else None,
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
    }


async def bench_backend(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    schema = "migrated"
    try:
        db.upgrade()
    except Exception as exc:  # a broken migration elsewhere must not hide these figures
        from watchkeeper.state.metadata import metadata

        tables = [t for name, t in metadata.tables.items() if name.startswith("notify_")]
        metadata.create_all(db.engine, tables=tables)
        schema = f"notify tables created directly; migrations failed: {type(exc).__name__}"
    outbox_only = await run_phase(db, count=args.count, rate=None, fail_every=0, in_memory=True)
    throughput = await run_phase(db, count=args.count, rate=None, fail_every=0)
    failing = await run_phase(
        db, count=int(args.rate * args.seconds), rate=args.rate, fail_every=10
    )
    return {
        "schema": schema,
        "outbox_only_in_memory_transport": outbox_only,
        "throughput_to_webhook": throughput,
        "ten_percent_500s": failing,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="notifications, phases 1-2")
    parser.add_argument("--rate", type=float, default=20.0, help="per second, phase 3")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration, phase 3")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    args.count = max(1, min(args.count, 20_000))
    args.seconds = max(1.0, min(args.seconds, 60.0))
    out: dict[str, Any] = {
        "benchmark": "notify_outbox",
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        db = Database(sqlite_url(Path(tmp) / "state.sqlite"))
        try:
            print("sqlite …", file=sys.stderr)
            out["sqlite"] = asyncio.run(bench_backend(db, args))
        finally:
            db.dispose()
    if not args.no_postgres and tools.postgres_available():
        import psycopg

        name = f"wk_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            db = Database(postgres_url(tools.postgres_dsn(name)))
            try:
                print("postgres …", file=sys.stderr)
                out["postgres"] = asyncio.run(bench_backend(db, args))
            finally:
                db.dispose()
        finally:
            with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
