"""What one SLO's generated rule group costs per evaluation, in steady state.

The store holds what a running instance would: the SLI's raw counters (one series per
status code, scraped every 15 s) for the last 6 hours (the longest raw window), and the
5-minute records for the whole 30-day window (written every 15 s). The SLO's group is then
evaluated --evals times by the rule manager; prints the mean and p95 time per evaluation
and per rule kind.

    .venv/bin/python bench/slo_rules.py [--codes 10] [--evals 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence

from watchkeeper.alerting.model import AlertInput
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.rules.slo import slo_rule_groups
from watchkeeper.tsdb.embedded import EmbeddedStore

NOW = 1_780_000_000.0
CONFIG = """
services: [{name: api}]
slos:
  - name: api-availability
    service: api
    objective: 99.9
    sli:
      events:
        bad: http_requests_total{service="api", code=~"5.."}
        total: http_requests_total{service="api"}
"""


class Sink:
    async def put(self, alerts: Sequence[AlertInput]) -> None:
        return None


async def main(codes: int, evals: int) -> None:
    clock = FakeClock(NOW)
    store = EmbeddedStore.memory(clock=clock)
    engine = Engine(store, clock=clock)
    cfg = load_config_text(CONFIG).config
    manager = RuleManager(
        query=engine.samples,
        metrics_of=referenced_metrics,
        store=store,
        sink=Sink(),
        clock=clock,
        options=RuleManagerOptions(event_driven=False),
    )
    manager.load(slo_rule_groups(cfg))
    (group,) = manager.groups
    t0 = time.perf_counter()
    labels = [
        Labels.of(__name__="http_requests_total", service="api", code=str(200 + i))
        for i in range(codes)
    ]
    raw = []
    start = NOW - 6 * 3600
    for step in range(6 * 3600 // 15):
        ts = int((start + step * 15) * 1000)
        raw.extend((lab, ts, float(step * 10)) for lab in labels)
    store.append(raw)
    record_labels = {"slo": "api-availability", "service": "api"}
    records = []
    rstart = NOW - 30 * 86400
    for step in range(30 * 86400 // 15):
        ts = int((rstart + step * 15) * 1000)
        records.append(
            (Labels({**record_labels, "__name__": "slo:sli_total:increase5m"}), ts, 200.0)
        )
        records.append(
            (Labels({**record_labels, "__name__": "slo:sli_errors:increase5m"}), ts, 0.1)
        )
        if len(records) >= 200_000:
            store.append(records)
            records = []
    store.append(records)
    print(
        f"loaded {len(raw)} raw samples ({codes} series, 6 h at 15 s) and "
        f"{2 * 30 * 86400 // 15} record samples (30 d at 15 s) in {time.perf_counter() - t0:.1f} s"
    )
    times = []
    for i in range(evals):
        at = NOW + i * 15
        t = time.perf_counter()
        await manager.evaluate_group(group, at)
        times.append(time.perf_counter() - t)
    per_rule = sorted(
        ((group.rule_status(i).evaluation_seconds, r.name) for i, r in enumerate(group.rules)),
        reverse=True,
    )
    times.sort()
    print(
        f"group of {len(group.rules)} rules: mean {statistics.fmean(times) * 1000:.1f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms per evaluation"
    )
    print("slowest rules (last evaluation):")
    for seconds, name in per_rule[:6]:
        print(f"  {seconds * 1000:7.2f} ms  {name}")
    store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, default=10)
    parser.add_argument("--evals", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(max(1, args.codes), max(1, min(args.evals, 1000))))
