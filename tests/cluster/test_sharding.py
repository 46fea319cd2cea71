"""300 targets collected by three real ``watchkeeper serve`` processes: each target by one
instance at a time, every interval; kill -9 one instance and its targets move to the
others — none collected twice, none left behind — and every instance's store keeps
receiving every target's samples."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from conftest import require_postgres
from watchkeeper.testing.cluster import LocalCluster, cluster_config, local_cluster

from .targets import TargetProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVICES, CHECKS = 30, 10
TARGETS = SERVICES * CHECKS
INTERVAL = 5.0


def config_body(url: str) -> str:
    lines = ["services:"]
    for s in range(SERVICES):
        lines.append(f"  - name: s{s}\n    checks:")
        for c in range(CHECKS):
            lines.append(
                f"      - {{type: http, name: c{c}, url: '{url}/t/{s}/{c}', "
                f"interval: {INTERVAL:g}s, timeout: 4s, headers: {{X-From: '${{WK_PORT}}'}}}}"
            )
    return "\n".join(lines) + "\n"


def running(cl: LocalCluster) -> dict[str, set[str]] | None:
    """Targets each live instance collects, when the live instances cover all of them
    exactly once and agree on who is live."""
    views = cl.views()
    if len(views) != len(cl.live()):
        return None
    out = {name: set(v["targets_here"]) for name, v in views.items()}
    ids = {v["self"] for v in views.values()}
    if any({m["id"] for m in v["members"] if m["live"]} != ids for v in views.values()):
        return None
    total = sum(len(keys) for keys in out.values())
    if total != TARGETS or len(set().union(*out.values())) != TARGETS:
        return None
    return out


def balanced(cl: LocalCluster) -> dict[str, set[str]] | None:
    """:func:`running`, once each instance runs exactly the share the hashing gives it."""
    out = running(cl)
    if out is None:
        return None
    for name, view in cl.views().items():
        if set(view["shards"].get(view["self"], [])) != out.get(name):
            return None
    return out


def path_of(key: str) -> str:
    """The URL path the target ``s<s>/c<c>`` requests."""
    service, check = key.split("/")
    return f"/t/{service[1:]}/{check[1:]}"


Runs = dict[str, list[tuple[float, str]]]


def by_target(log: list[tuple[str, float, str]]) -> Runs:
    """Each target's requests: (arrival time, the instance's port), in time order."""
    out: Runs = defaultdict(list)
    for path, at, by in sorted(log, key=lambda note: note[1]):
        out[path].append((at, by))
    return out


def doubles(runs: Runs) -> dict[str, list[tuple[float, str]]]:
    """Targets collected twice within half an interval (by two instances, or one)."""
    return {
        path: pair
        for path, times in runs.items()
        for pair in itertools.pairwise(times)
        if pair[1][0] - pair[0][0] < INTERVAL / 2
    }


SKIPPED = 1.8 * INTERVAL
"""A gap this long is a skipped slot: the next slot two intervals on, less some slack for a
run that starts late on a busy machine (a late run alone leaves a gap below this)."""


def missing_in(runs: Runs, start: float, end: float) -> dict[str, float]:
    """Targets that went without a collection for :data:`SKIPPED` inside ``[start, end)``
    (a run slot skipped), with the longest such gap."""
    out = {}
    for s in range(SERVICES):
        for c in range(CHECKS):
            path = f"/t/{s}/{c}"
            times = [start] + [at for at, _ in runs.get(path, []) if start <= at < end] + [end]
            gap = max(b - a for a, b in itertools.pairwise(times))
            if gap > SKIPPED:
                out[path] = round(gap, 2)
    return out


def fresh_everywhere(cl: LocalCluster) -> dict[str, float]:
    """How many targets have a sample from the last two intervals, in each live store."""
    out = {}
    query = f"count(time() - timestamp(probe_success) < {2 * INTERVAL:g})"
    for inst in cl.live():
        r = httpx.get(inst.url + "/prometheus/api/v1/query", params={"query": query}, timeout=10)
        result = r.json()["data"]["result"]
        out[inst.name] = float(result[0]["value"][1]) if result else 0.0
    return out


def test_300_targets_over_three_instances_survive_a_kill_9_without_gaps_or_doubles(
    tmp_path: Path, pg_database: str
) -> None:
    require_postgres()
    with (
        TargetProcess() as server,
        local_cluster(
            tmp_path, cluster_config(pg_database, config_body(server.url)), dsn=pg_database
        ) as cl,
    ):
        for _ in range(3):
            cl.start()
        leader = cl.wait_formed()
        shards = cl.wait("the targets to be spread", lambda: balanced(cl), timeout=120)
        assert all(len(keys) > TARGETS / 6 for keys in shards.values()), {
            n: len(k) for n, k in shards.items()
        }
        time.sleep(INTERVAL)  # runs already scheduled by a previous owner have happened
        steady_from = time.time()
        time.sleep(2 * INTERVAL)
        steady_to = time.time()
        victim = next(i for i in cl.live() if i is not leader)
        victim_targets = shards[victim.name]
        victim.kill()
        killed_at = time.time()
        cl.wait("the survivors to take every target", lambda: balanced(cl), timeout=60)
        rebalanced = time.time() - killed_at
        time.sleep(INTERVAL)  # the taken-over targets' first runs
        after_from = time.time()
        time.sleep(2 * INTERVAL)
        after_to = time.time()
        fresh = fresh_everywhere(cl)
        runs = by_target(server.log())
    twice = doubles(runs)
    moved = [path_of(key) for key in victim_targets]
    gaps = {path: max(b[0] - a[0] for a, b in itertools.pairwise(runs[path])) for path in moved}
    print(
        f"\n{TARGETS} targets; after the kill the survivors ran them all within "
        f"{rebalanced:.1f}s; longest gap of a moved target {max(gaps.values()):.1f}s; "
        f"fresh series per store {fresh}"
    )
    assert twice == {}, {
        p: [(round(at - killed_at, 2), by) for at, by in pair] for p, pair in twice.items()
    }
    assert missing_in(runs, steady_from, steady_to) == {}
    assert missing_in(runs, after_from, after_to) == {}
    assert set(fresh.values()) == {float(TARGETS)}
