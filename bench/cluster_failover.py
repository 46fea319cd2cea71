"""Failover of a three-instance cluster: kill -9 the leader while an alert's firing
notification is in flight, and measure how long the cluster takes to recover.

Each trial, on a fresh PostgreSQL database (``wk_bench_<random>``, dropped afterwards):

1. three ``watchkeeper serve`` processes start from one config (heartbeat 1 s, so
   ``member_timeout`` 6 s); the benchmark waits for them to agree on a leader;
2. ``--services`` HTTP checks on a loopback target that answers 500 make the rule
   ``probe_success == 0`` fire; the webhook receiver (a loopback sink) accepts the
   firing notifications but does not answer them;
3. the leader is killed with SIGKILL and the receiver starts answering. Measured from
   the kill: **takeover**, until the survivors agree on a new leader (``/api/v1/cluster``
   on each, polled every 50 ms); **redelivery**, until the sink has received the last
   of the firing notifications the dead leader had in flight;
4. the target heals, the resolved notifications arrive, and after a quiet 3 s every
   event (firing or resolved, per alert group) must have been delivered exactly once:
   any more is counted as a duplicate.

Every wait is bounded and a trial as a whole by ``--trial-timeout``; a trial that runs out
of time is reported as failed, its processes stopped and its database dropped. Prints one
line per trial, then a summary (min / median / p90 / max); exits 1 when a trial failed or
anything was delivered twice.

    .venv/bin/python bench/cluster_failover.py --trials 10
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from watchkeeper.testing import tools
from watchkeeper.testing.cluster import (
    SERVICE_DOWN_RULES,
    DownTargets,
    Instance,
    cluster_config,
    delivered_events,
    local_cluster,
    service_down_body,
    service_down_events,
)
from watchkeeper.testing.webhook_sink import WebhookSink

INSTANCES = 3
POLL = 0.05  # seconds between polls of the survivors during the takeover
QUIET = 3.0  # seconds to wait for a duplicate after the last expected delivery
MAX_TRIALS = 30


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, most: float) -> float:
        """What is left of the budget, at most ``most`` seconds (at least a little)."""
        return max(0.1, min(most, self.end - time.monotonic()))


@dataclass
class Trial:
    number: int
    formed: float = math.nan  # start -> the three agree on a leader
    takeover: float = math.nan  # kill -> the survivors agree on a new leader
    redelivery: float = math.nan  # kill -> the last in-flight firing notification arrived
    events: int = 0
    duplicates: int = 0
    killed: str = ""
    new_leader: str = ""
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"trial {self.number:2d}: FAILED: {self.error}"
        return (
            f"trial {self.number:2d}: formed {self.formed:5.2f} s  takeover {self.takeover:5.2f} s"
            f"  redelivery {self.redelivery:5.2f} s  events {self.events}  duplicates "
            f"{self.duplicates}  (killed {self.killed}, new leader {self.new_leader})"
        )


def admin(sql: str) -> None:
    with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def run_trial(number: int, services: int, budget: float) -> Trial:
    """One trial on a database of its own; the database is dropped whatever happens."""
    trial = Trial(number)
    target = DownTargets()
    name = f"wk_bench_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        with (
            tempfile.TemporaryDirectory(prefix="wk-failover-") as tmp,
            target.server,
            WebhookSink() as sink,
        ):
            measure(trial, Path(tmp), tools.postgres_dsn(name), target, sink, services, budget)
    except AssertionError as exc:  # LocalCluster.wait ran out of time or an instance died
        trial.error = str(exc).splitlines()[0]
        print(f"trial {number}: {exc}", file=sys.stderr, flush=True)  # with the logs' tails
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return trial


def measure(
    trial: Trial,
    workdir: Path,
    dsn: str,
    target: DownTargets,
    sink: WebhookSink,
    services: int,
    budget: float,
) -> None:
    deadline = Deadline(budget)
    sink.faults.hang(seconds=600)  # requests arrive but get no answer until cleared
    (workdir / "rules.yml").write_text(SERVICE_DOWN_RULES)
    body = service_down_body(services, target.server.url, sink.url_for("hook"))
    with local_cluster(workdir, cluster_config(dsn, body), dsn=dsn) as cl:
        started = time.monotonic()
        for _ in range(INSTANCES):
            cl.start()
        leader = cl.wait_formed(timeout=deadline.left(180))
        trial.formed = time.monotonic() - started
        cl.wait(
            "the firing notifications to be in flight",
            lambda: len(sink.server.requests) >= services,
            timeout=deadline.left(120),
        )
        if sink.deliveries():
            raise AssertionError("a notification was answered before the kill")
        killed_wall = time.time()
        killed_at = time.monotonic()
        leader.kill()
        sink.faults.clear()  # the receiver answers from now on
        trial.killed = leader.name
        new: Instance = cl.wait(
            "a new leader",
            lambda: cl.leader_other_than(leader),
            timeout=deadline.left(60),
            every=POLL,
        )
        trial.takeover = time.monotonic() - killed_at
        trial.new_leader = new.name
        firing = cl.wait(
            "every firing notification",
            firing_arrivals(sink, services),
            timeout=deadline.left(60),
            every=POLL,
        )
        trial.redelivery = max(firing) - killed_wall
        target.down = False
        expected = service_down_events(services)
        cl.wait(
            "every resolved notification",
            lambda: set(delivered_events(sink)) >= expected,
            timeout=deadline.left(60),
        )
        time.sleep(QUIET)  # anything sent twice would have arrived by now
        counts = delivered_events(sink)
        trial.events = len(counts)
        trial.duplicates = sum(n - 1 for n in counts.values())
        unexpected = set(counts) - expected
        if unexpected:
            raise AssertionError(f"unexpected notifications: {sorted(unexpected)}")


def firing_arrivals(sink: WebhookSink, services: int) -> Callable[[], list[float] | None]:
    """When each alert group's first firing notification arrived, once all have."""

    def check() -> list[float] | None:
        first: dict[str, float] = {}
        for d in sink.deliveries():
            if d.status == "firing":
                first.setdefault(d.payload["groupKey"], d.received_at)
        return list(first.values()) if len(first) >= services else None

    return check


def not_a_held_request(record: logging.LogRecord) -> bool:
    """The dead leader's requests are still held by the sink when a trial ends: their
    cancellation at the sink's shutdown is expected, not worth a traceback. (A filter, not
    a level: every server start configures uvicorn's loggers afresh.)"""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError) and not record.getMessage().startswith(
        "Cancel "
    )


def spread(values: list[float]) -> str:
    if not values:
        return "no data"
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return (
        f"min {ordered[0]:.2f} s  median {statistics.median(ordered):.2f} s  "
        f"p90 {p90:.2f} s  max {ordered[-1]:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help=f"1..{MAX_TRIALS} (default 10)")
    parser.add_argument("--services", type=int, default=2, help="alert groups in flight")
    parser.add_argument(
        "--trial-timeout", type=float, default=300.0, help="seconds one trial may take"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.trials <= MAX_TRIALS:
        parser.error(f"--trials must be between 1 and {MAX_TRIALS}")
    if not 1 <= args.services <= 20:
        parser.error("--services must be between 1 and 20")
    if not tools.postgres_available():
        print(f"no PostgreSQL at {tools.PG_HOST}:{tools.PG_PORT}", file=sys.stderr)
        return 2
    logging.getLogger("uvicorn.error").addFilter(not_a_held_request)
    print(
        f"{args.trials} trials: {INSTANCES} instances, heartbeat 1 s (member_timeout 6 s), "
        f"{args.services} alert groups in flight when the leader is killed",
        flush=True,
    )
    trials = []
    for number in range(1, args.trials + 1):
        trial = run_trial(number, args.services, args.trial_timeout)
        trials.append(trial)
        print(trial.line(), flush=True)
    done = [t for t in trials if not t.error]
    failed = len(trials) - len(done)
    duplicates = sum(t.duplicates for t in done)
    print(f"takeover:   {spread([t.takeover for t in done])}")
    print(f"redelivery: {spread([t.redelivery for t in done])}")
    print(
        f"duplicates: {duplicates} in {sum(t.events for t in done)} events; "
        f"trials completed: {len(done)} of {len(trials)}"
    )
    return 1 if failed or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
