"""300 targets collected by three real ``watchkeeper serve`` processes: each target by one
instance at a time, every interval; kill -9 one instance and its targets move to the
others — none collected twice, none left behind — and every instance's store keeps
receiving every target's samples."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import require_postgres
from watchkeeper.testing.server import FakeServer

from .procs import LocalCluster, cluster_config, local_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SERVICES, CHECKS = 30, 10
TARGETS = SERVICES * CHECKS
INTERVAL = 5.0


async def ok(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def config_body(url: str) -> str:
    lines = ["services:"]
    for s in range(SERVICES):
        lines.append(f"  - name: s{s}\n    checks:")
        for c in range(CHECKS):
            lines.append(
                f"      - {{type: http, name: c{c}, url: '{url}/t/{s}/{c}', "
                f"interval: {INTERVAL:g}s, timeout: 4s}}"
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


def path_of(key: str) -> str:
    """The URL path the target ``s<s>/c<c>`` requests."""
    service, check = key.split("/")
    return f"/t/{service[1:]}/{check[1:]}"


def scrapes(server: FakeServer) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for r in server.requests:
        times[r.path].append(r.received_at)
    return times


def missing_in(times: dict[str, list[float]], start: float, end: float) -> list[str]:
    """Targets with no collection in some interval-long window of ``[start, end)``."""
    paths = [f"/t/{s}/{c}" for s in range(SERVICES) for c in range(CHECKS)]
    out = []
    t = start
    while t + INTERVAL <= end:
        for path in paths:
            if not any(t <= x < t + INTERVAL for x in times.get(path, [])):
                out.append(f"{path} in [{t:.1f}, {t + INTERVAL:.1f})")
        t += INTERVAL
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
        FakeServer(ok) as server,
        local_cluster(
            tmp_path, cluster_config(pg_database, config_body(server.url)), dsn=pg_database
        ) as cl,
    ):
        for _ in range(3):
            cl.start()
        leader = cl.wait_formed()
        shards = cl.wait("the targets to be spread", lambda: running(cl), timeout=120)
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
        cl.wait("the survivors to take every target", lambda: running(cl), timeout=60)
        rebalanced = time.time() - killed_at
        time.sleep(INTERVAL)  # the taken-over targets' first runs
        after_from = time.time()
        time.sleep(2 * INTERVAL)
        after_to = time.time()
        fresh = fresh_everywhere(cl)
        times = scrapes(server)
    doubles = {
        path: round(b - a, 2)
        for path, ts in times.items()
        for a, b in itertools.pairwise(ts)
        if b - a < INTERVAL / 2
    }
    moved = [path_of(key) for key in victim_targets]
    gaps = {path: max(b - a for a, b in itertools.pairwise(times[path])) for path in moved}
    print(
        f"\n{TARGETS} targets; after the kill the survivors ran them all within "
        f"{rebalanced:.1f}s; longest gap of a moved target {max(gaps.values()):.1f}s; "
        f"fresh series per store {fresh}"
    )
    assert doubles == {}
    assert missing_in(times, steady_from, steady_to) == []
    missing = missing_in(times, after_from, after_to)
    assert missing == [], {
        m: [round(t - killed_at, 2) for t in times[m.split()[0]]][-8:] for m in missing
    } | {"moved": [m.split()[0] in moved for m in missing], "window_from": after_from - killed_at}
    assert set(fresh.values()) == {float(TARGETS)}
