"""Alert management figures: latency from ``AlertSink.put`` to ``Outbox.enqueue`` with
``group_wait: 0s``, and throughput of alerts through routing, grouping, silencing,
inhibition and the notification pipeline with a realistic configuration.

    .venv/bin/python bench/alerting_pipeline.py [--trials 200] [--alerts 5000] [--seconds 60]

Latency uses the real clock and the real SQLite state store, once with the real SQLite
outbox and once with an in-memory one (to separate alert management from the outbox's own
write). Throughput runs on a fake clock so that group timers fire exactly when asked:

* ``ingest``: new alerts put in batches (routing, grouping, persistence);
* ``resend``: the same alerts re-sent, as rules do on every evaluation;
* ``flush``: every group flushed once (inhibition, silences, maintenance, dependencies,
  dedup, message building, enqueue, notification log, history).

Every loop is bounded by count and by ``--seconds``. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.model import AlertInput
from watchkeeper.alerting.silences import Silence
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import Clock, FakeClock, SystemClock
from watchkeeper.core.labels import Labels, Matcher, MatchOp
from watchkeeper.notify.base import NotificationMessage, Outbox
from watchkeeper.notify.outbox import SqlOutbox
from watchkeeper.state.db import Database, sqlite_url

LATENCY_CONFIG = """
alerting:
  route:
    receiver: hook
    group_by: [alertname, rep]
    group_wait: 0s
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: http://127.0.0.1:9/hook
"""

TEAMS = ("payments", "search", "checkout", "identity", "platform", "data")
SERVICES = [f"{team}-{kind}" for team in TEAMS for kind in ("api", "worker", "db")]


def realistic_config() -> str:
    """Six teams, each with its own routes per severity, continue for an audit receiver,
    inhibition rules, time intervals and dependencies between services."""
    routes = []
    receivers = ["default", "audit"]
    for team in TEAMS:
        receivers += [f"{team}-chat", f"{team}-pager"]
        routes.append(
            f"""      - matchers: ['team="{team}"']
        receiver: {team}-chat
        group_by: [alertname, service]
        routes:
          - matchers: ['severity="critical"']
            receiver: {team}-pager
            group_wait: 10s
          - matchers: ['severity=~"warning|info"', 'env!="dev"']
            receiver: {team}-chat
            mute_time_intervals: [nights]"""
        )
    services = "\n".join(
        f"  - name: {s}"
        + (f"\n    depends_on: [{s.rsplit('-', 1)[0]}-db]" if not s.endswith("-db") else "")
        for s in SERVICES
    )
    receiver_list = "\n".join(
        f"    - name: {r}\n      webhook_configs:\n        - url: http://127.0.0.1:9/{r}"
        for r in receivers
    )
    return f"""
services:
{services}
alerting:
  route:
    receiver: default
    group_by: [alertname]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
    routes:
      - matchers: ['severity="critical"']
        receiver: audit
        continue: true
{chr(10).join(routes)}
  receivers:
{receiver_list}
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity=~"warning|info"']
      equal: [service, instance]
    - source_matchers: ['alertname="ClusterDown"']
      target_matchers: ['alertname!="ClusterDown"']
      equal: [cluster]
  time_intervals:
    - name: nights
      time_intervals:
        - times: [{{start_time: '01:00', end_time: '05:00'}}]
"""


class TimedOutbox:
    """Records when each enqueue finished; delegates to a real outbox if given."""

    def __init__(self, inner: Outbox | None) -> None:
        self.inner = inner
        self.done: dict[str, float] = {}
        self.count = 0
        self.event = asyncio.Event()

    def enqueue(self, receiver: str, message: NotificationMessage) -> int:
        queued = self.inner.enqueue(receiver, message) if self.inner is not None else 1
        self.count += 1
        rep = message.group_labels.get("rep")
        if rep is not None:
            self.done[rep] = time.perf_counter()
            self.event.set()
        return queued


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latency(trials: int, real_outbox: bool, deadline: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(sqlite_url(Path(tmp) / "state.sqlite"))
        db.upgrade()
        cfg = load_config_text(LATENCY_CONFIG).config
        clock: Clock = SystemClock()
        inner = SqlOutbox(db, cfg.alerting.receivers, clock=clock) if real_outbox else None
        outbox = TimedOutbox(inner)
        manager = AlertManager.from_config(cfg, db=db, outbox=outbox, clock=clock)
        await manager.start()
        samples: list[float] = []
        try:
            for i in range(trials):
                if time.monotonic() > deadline:
                    break
                rep = f"r{i}"
                outbox.event.clear()
                now = clock.now()
                alert = AlertInput(
                    labels=Labels({"alertname": "BenchLatency", "rep": rep}),
                    annotations={},
                    starts_at=now,
                    ends_at=now + 3600,
                    source="rule",
                )
                t0 = time.perf_counter()
                await manager.put([alert])
                while rep not in outbox.done:
                    await asyncio.wait_for(outbox.event.wait(), timeout=5)
                    outbox.event.clear()
                samples.append(outbox.done[rep] - t0)
                await asyncio.sleep(0.002)
        finally:
            await manager.stop()
            db.dispose()
    ms = [s * 1000 for s in samples]
    return {
        "outbox": "sqlite" if real_outbox else "memory",
        "trials": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


def synthetic_alerts(n: int, now: float) -> list[AlertInput]:
    out = []
    severities = ("critical", "warning", "warning", "info")
    front = [s for s in SERVICES if not s.endswith("-db")]
    for i in range(n):
        # one alert in fifty is on a database, whose firing alerts suppress its dependents
        service = "data-db" if i % 50 == 0 else front[i % len(front)]
        out.append(
            AlertInput(
                labels=Labels(
                    {
                        "alertname": f"Alert{i % 97}",
                        "service": service,
                        "team": service.rsplit("-", 1)[0],
                        "severity": severities[i % 4],
                        "cluster": f"c{i % 5}",
                        "env": "prod" if i % 10 else "dev",
                        "instance": f"10.0.{i // 250}.{i % 250}:9100",
                    }
                ),
                annotations={"summary": f"synthetic alert {i}"},
                starts_at=now,
                ends_at=now + 86400,
                source="rule",
            )
        )
    return out


async def throughput(n: int, batch: int, deadline: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(sqlite_url(Path(tmp) / "state.sqlite"))
        db.upgrade()
        clock = FakeClock()
        cfg = load_config_text(realistic_config()).config
        outbox = TimedOutbox(None)
        manager = AlertManager.from_config(cfg, db=db, outbox=outbox, clock=clock)
        await manager.start()
        now = clock.now()
        for k in range(40):  # silences, a fifth of which match something
            matcher = (
                Matcher("instance", MatchOp.EQUAL, f"10.0.{k}.7:9100")
                if k % 5 == 0
                else Matcher("alertname", MatchOp.EQUAL, f"Unrelated{k}")
            )
            await manager.actions.set_silence(
                Silence("", (matcher,), now, now + 86400, "bench", "bench")
            )
        alerts = synthetic_alerts(n, now)
        try:
            t0 = time.perf_counter()
            done = 0
            for i in range(0, n, batch):
                if time.monotonic() > deadline:
                    break
                await manager.put(alerts[i : i + batch])
                done += len(alerts[i : i + batch])
            ingest = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(0, done, batch):
                await manager.put(alerts[i : i + batch])
            resend = time.perf_counter() - t0
            groups = len(manager.dispatcher.groups)
            t0 = time.perf_counter()
            await clock.advance(30)  # every group's group_wait ends: one flush each
            while manager.scheduler.has_due():
                await clock.advance(0)
            flush = time.perf_counter() - t0
            notifications = outbox.count
        finally:
            await manager.stop()
            db.dispose()
    routed = sum(len(manager.dispatcher.routes_for(a)) for a in manager.store)
    return {
        "alerts": done,
        "groups": groups,
        "alert_group_memberships": routed,
        "notifications": notifications,
        "ingest_alerts_per_s": round(done / ingest),
        "resend_alerts_per_s": round(done / resend),
        "flush_alerts_per_s": round(routed / flush) if flush else None,
        "flush_seconds": round(flush, 3),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.seconds
    return {
        "benchmark": "alerting_pipeline",
        "python": platform.python_version(),
        "latency_put_to_enqueue": [
            await latency(args.trials, real_outbox=False, deadline=deadline),
            await latency(args.trials, real_outbox=True, deadline=deadline),
        ],
        "throughput": await throughput(args.alerts, args.batch, deadline),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200, help="latency samples per outbox")
    ap.add_argument("--alerts", type=int, default=5000, help="alerts for the throughput run")
    ap.add_argument("--batch", type=int, default=500, help="alerts per put")
    ap.add_argument("--seconds", type=float, default=120, help="overall time bound")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
