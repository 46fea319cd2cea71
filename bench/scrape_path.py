"""CPU per scraped sample along the scrape path, stage by stage, in one process:

- fetch: GET a 1,000-series exposition from an exporter in a child process (keep-alive,
  one port per target), through a per-target aiohttp session (what the scrape collector
  uses), a per-target httpx client, and one httpx client shared by every target (what it
  used before); CPU µs per scrape of this process only;
- parse, label, append: the exposition parsed with the target's label cache, the target
  labels merged, the samples appended to an on-disk embedded store (head + write-ahead
  log), with the garbage collector as ``serve`` sets it and as CPython's default.

    .venv/bin/python bench/scrape_path.py [--targets 50] [--rounds 20]

Bounded: targets × rounds scrapes per client, the same appends per store.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from itertools import repeat
from pathlib import Path

import httpx

from watchkeeper.collect import series as series_mod
from watchkeeper.collect.base import Target
from watchkeeper.collect.httpclient import default_tls_context, target_session
from watchkeeper.collect.scrape.collector import fetch_exposition
from watchkeeper.collect.scrape.parse import ACCEPT_HEADER, parse_exposition_cached
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.runtime.gcpolicy import YOUNG_THRESHOLD
from watchkeeper.testing.exporter import KeepAliveExporter
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

SERIES = 1000
HEADERS = {"Accept": ACCEPT_HEADER, "X-Prometheus-Scrape-Timeout-Seconds": "5"}


def body(rnd: random.Random) -> str:
    """The shared harness's W1 exposition: 50 gauges × 20 series, HELP and TYPE lines."""
    lines = []
    for i in range(SERIES):
        m, idx = divmod(i, 20)
        name = f"bench_gauge_{m:04d}"
        if idx == 0:
            lines += [f"# HELP {name} Synthetic gauge {m}.", f"# TYPE {name} gauge"]
        lines.append(f'{name}{{idx="{idx}",shard="s{m % 7}"}} {rnd.uniform(0, 1000):.2f}')
    return "\n".join(lines) + "\n"


def exporter(targets: int, ports: multiprocessing.Queue, seconds: float) -> None:
    """The exporters, in a child process so that their CPU is not counted."""
    payload = body(random.Random(1)).encode()

    async def main() -> None:
        for _ in range(targets):
            url = await KeepAliveExporter(payload).start()
            ports.put(url)
        await asyncio.sleep(seconds)

    asyncio.run(main())


async def fetch_cpu(urls: list[str], rounds: int) -> dict[str, float]:
    """CPU µs per scrape for each way of fetching."""

    async def timed(fetch: Callable[[int, str], Awaitable[object]]) -> float:
        for i, url in enumerate(urls):  # connect first, as a running scraper has
            await fetch(i, url)
        t0 = time.process_time()
        for _ in range(rounds):
            for i, url in enumerate(urls):
                await fetch(i, url)
        return (time.process_time() - t0) / (rounds * len(urls)) * 1e6

    out: dict[str, float] = {}
    sessions = [target_session(default_tls_context()) for _ in urls]
    out["aiohttp, a session per target"] = await timed(
        lambda i, url: fetch_exposition(sessions[i], url, headers=HEADERS, timeout_s=5)
    )
    clients = [httpx.AsyncClient(verify=default_tls_context()) for _ in urls]
    out["httpx, a client per target"] = await timed(
        lambda i, url: fetch_exposition(clients[i], url, headers=HEADERS, timeout_s=5)
    )
    async with httpx.AsyncClient() as shared:
        out["httpx, one shared client"] = await timed(
            lambda i, url: fetch_exposition(shared, url, headers=HEADERS, timeout_s=5)
        )
    for s in sessions:
        await s.close()
    for c in clients:
        await c.aclose()
    return out


def pipeline_cpu(targets: int, rounds: int, young: int | None) -> float:
    """CPU µs per sample: parse with the label cache, merge target labels, append."""
    texts = [body(random.Random(seed)) for seed in range(4)]
    fleet = [
        Target(
            "bench", f"t{i}", "scrape", "bench", f"127.0.0.1:{9000 + i}", 5, 5,
            Labels({"job": "bench", "instance": f"127.0.0.1:{9000 + i}", "service": "bench"}),
        )
        for i in range(targets)
    ]  # fmt: skip
    caches = [({}, series_mod.MergeCache()) for _ in fleet]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = StorageConfig.model_validate({"path": str(Path(tmp))})
        store = EmbeddedStore.open(cfg, clock=FakeClock(1_700_000_000), background=False)

        def one_round(r: int) -> None:
            now = 1_700_000_000_000 + r * 5000
            for i, (t, (parsed, merged)) in enumerate(zip(fleet, caches, strict=True)):
                labels, values, _ = parse_exposition_cached(texts[(r + i) % 4], "", parsed)
                samples = list(zip(labels, values, repeat(None)))
                out, _ = series_mod.labelled(t, samples, False, now, merged)
                store.append(out, source=t.key)

        one_round(0)
        saved = gc.get_threshold()
        if young is not None:
            gc.set_threshold(young, saved[1], saved[2])
        try:
            t0 = time.process_time()
            for r in range(1, rounds + 1):
                one_round(r)
            spent = time.process_time() - t0
        finally:
            gc.set_threshold(*saved)
            store.close()
    return spent / (targets * rounds * SERIES) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=exporter, args=(args.targets, ports, 600.0))
    child.start()
    try:
        urls = [ports.get(timeout=30) for _ in range(args.targets)]
        fetch = asyncio.run(fetch_cpu(urls, max(1, args.rounds // 4)))
    finally:
        child.terminate()
        child.join(10)
    print(f"{args.targets} targets × {SERIES} series; CPU µs per scrape (fetch only):")
    for name, us in fetch.items():
        print(f"  {name:<32} {us:7.0f}   ({us / SERIES:.2f} µs/sample)")
    print("CPU µs per sample, parse + label + append (on-disk store):")
    for name, young in (("gc as serve sets it", YOUNG_THRESHOLD), ("CPython's default gc", None)):
        print(f"  {name:<32} {pipeline_cpu(args.targets, args.rounds, young):7.2f}")


if __name__ == "__main__":
    main()
