"""Alert quality measured on the demo: the simulated Insurance Navigator stack runs with
its rule packs, the demo rules, an SLO (backend availability) and an anomaly rule (backend
p95 latency), incidents are injected on a schedule, and every resolved alert is labelled
against that schedule (the ground truth) with the label store, then scored with the same
code the dashboard uses.

Labelling (automatic, from the injected-incident log, not by a person):

* an alert is related to an injected incident when it fired between the incident's start
  and 90 s after it healed and carries a service the incident breaks
  (latency spike, 5xx burst: backend; frontend down: frontend; failed deploy: frontend, ci);
* the first related alert of each rule for an incident is ``actionable``; a later firing
  of the same rule for the same incident is ``duplicate``;
* an alert related to no injected incident is ``noise``.

Prints per rule and overall: incidents, precision, false-positive share, duplicates,
MTTR; and the recall (injected incidents that got at least one actionable alert) with the
detection delay.

    .venv/bin/python bench/alert_quality_demo.py [--seconds 1200] [--period 110] [--first-after 360]

Bounded: the run stops after --seconds (at most 3600).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from watchkeeper.config.loader import load_config
from watchkeeper.core.clock import SystemClock
from watchkeeper.demo.config import DemoPorts, demo_config
from watchkeeper.demo.incidents import IncidentRecord
from watchkeeper.demo.stack import DemoStack
from watchkeeper.quality.incidents import Incident
from watchkeeper.quality.labels import Verdict
from watchkeeper.quality.metrics import overall, rule_quality
from watchkeeper.quality.service import build_report_service
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.server import Server
from watchkeeper.security.principal import system_principal
from watchkeeper.testing.server import free_port_block

GRACE = 90.0
SERVICES = {
    "Backend latency spike": {"backend"},
    "Burst of 5xx": {"backend"},
    "Frontend down": {"frontend"},
    "Failed production deploy": {"frontend", "ci"},
}
EXTRA = """
slos:
  - name: backend-availability
    service: backend
    objective: 99
    sli:
      events:
        bad: http_requests_total{service="backend", path="/api/quote", status=~"5.."}
        total: http_requests_total{service="backend", path="/api/quote"}
anomaly_rules:
  - name: QuoteLatencyAnomaly
    expr: service:quote_duration_seconds:p95_20s{service="backend"}
    interval: 5s
    params: {history: 360, warmup: 60}
    labels: {severity: warning}
"""


def match(inc: Incident, injected: list[IncidentRecord]) -> int | None:
    """The injected incident an alert belongs to: the latest one that it fired during (or
    up to GRACE after it healed) and that breaks a service the alert names."""
    found = None
    for n, rec in enumerate(injected):  # the latest one that started before the alert
        healed = rec.healed_at if rec.healed_at is not None else float("inf")
        if rec.started_at <= inc.fired_at <= healed + GRACE and inc.service in SERVICES.get(
            rec.name, set()
        ):
            found = n
    return found


def label(incidents: list[Incident], injected: list[IncidentRecord]) -> dict[str, Verdict]:
    verdicts: dict[str, Verdict] = {}
    seen: set[tuple[int, str, str]] = set()
    for inc in sorted(incidents, key=lambda i: i.fired_at):
        n = match(inc, injected)
        if n is None:
            verdicts[inc.id] = Verdict.NOISE
            continue
        key = (n, inc.rule, inc.service)
        verdicts[inc.id] = Verdict.DUPLICATE if key in seen else Verdict.ACTIONABLE
        seen.add(key)
    return verdicts


async def main(seconds: float, period: float, first_after: float) -> None:
    port = free_port_block(8)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        path = data / "watchkeeper.yaml"
        path.write_text(demo_config(port, data) + EXTRA, encoding="utf-8")
        clock = SystemClock()
        stack = DemoStack(DemoPorts(port), clock)
        stack.schedule.first_after = first_after
        stack.schedule.period = period
        stack.start()
        rt = Runtime(load_config(path))
        reports = build_report_service(rt)
        server = Server(rt)
        started = clock.now()
        tasks = [
            asyncio.create_task(stack.traffic()),
            asyncio.create_task(stack.schedule.run()),
        ]
        result: dict[str, object] = {}

        async def until() -> None:
            await asyncio.sleep(seconds)

        def collect() -> None:
            end = clock.now()
            items = reports.incidents(started, end + 1)
            resolved = [i for i in items if i.resolved]
            injected = list(stack.schedule.log)
            verdicts = label(resolved, injected)
            who = system_principal("ground-truth")
            for inc in resolved:
                reports.labels.put(inc, verdicts[inc.id], principal=who, now=end)
            result["incidents"] = reports.incidents(started, end + 1)
            result["injected"] = injected
            probe = reports.sources.overhead
            result["overhead"] = probe() if probe is not None else {}

        t0 = time.monotonic()
        try:
            await server.run(until=until, before_stop=collect)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            stack.stop()
        report(result, time.monotonic() - t0)


def report(result: dict[str, object], wall: float) -> None:
    incidents = [i for i in result["incidents"] if isinstance(i, Incident)]  # type: ignore[attr-defined]
    injected = [r for r in result["injected"] if isinstance(r, IncidentRecord)]  # type: ignore[attr-defined]
    resolved = [i for i in incidents if i.resolved]
    print(
        f"demo ran {wall:.0f} s; {len(injected)} incidents injected; {len(incidents)} alert "
        f"incidents ({len(resolved)} resolved and labelled)"
    )
    for rec in injected:
        healed = f"{rec.healed_at - rec.started_at:.0f} s" if rec.healed_at else "not healed"
        print(f"  injected: {rec.name} ({healed})")
    print()
    print(
        f"{'rule':32} {'inc':>4} {'act':>4} {'noise':>5} {'dup':>4} {'precision':>9} "
        f"{'FP share':>8} {'MTTR':>7}"
    )
    for q in rule_quality(resolved):
        print(
            f"{q.rule[:32]:32} {q.incidents:4d} {q.actionable:4d} {q.noise:5d} {q.duplicate:4d} "
            f"{_pct(q.precision):>9} {_pct(q.false_positive_rate):>8} {_s(q.mttr):>7}"
        )
    total = overall(resolved)
    print(
        f"{'ALL':32} {total.incidents:4d} {total.actionable:4d} {total.noise:5d} "
        f"{total.duplicate:4d} {_pct(total.precision):>9} {_pct(total.false_positive_rate):>8} "
        f"{_s(total.mttr):>7}"
    )
    if total.labelled:
        low, high = clopper_pearson(total.actionable, total.labelled)
        print(
            f"precision 95 % interval (Clopper-Pearson) over {total.labelled} labelled alerts: "
            f"{low * 100:.1f} % to {high * 100:.1f} %"
        )
    caught: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for inc in resolved:
        n = match(inc, injected)
        if n is not None and inc.label == Verdict.ACTIONABLE:
            caught[n].append((inc.fired_at - injected[n].started_at, inc.rule))
    print()
    print("injected incident               alerts (delay from the injection)")
    for n, rec in enumerate(injected):
        alerts = ", ".join(f"{rule} +{delay:.0f} s" for delay, rule in sorted(caught[n]))
        print(f"  {rec.name:30} {alerts or 'none'}")
    delays = sorted(min(c)[0] for c in caught.values() if c)
    print(
        f"recall: {len(delays)}/{len(injected)} injected incidents got an actionable alert"
        + (
            f"; first alert after a median {statistics.median(delays):.1f} s, "
            f"max {max(delays):.1f} s"
            if delays
            else ""
        )
    )
    print(f"overhead: {result.get('overhead')}")


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact two-sided interval of a binomial share k/n."""
    from scipy.stats import beta

    alpha = 1 - confidence
    low = float(beta.ppf(alpha / 2, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(1 - alpha / 2, k + 1, n - k)) if k < n else 1.0
    return low, high


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f} %"


def _s(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f} s"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1200.0)
    parser.add_argument("--period", type=float, default=110.0)
    parser.add_argument(
        "--first-after",
        type=float,
        default=360.0,
        help="quiet time before the first incident (the anomaly rule learns for 5 minutes)",
    )
    args = parser.parse_args()
    asyncio.run(main(min(3600.0, args.seconds), args.period, args.first_after))
