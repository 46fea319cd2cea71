"""Exposition parsing throughput: Watchkeeper's strict parser (what the scrape collector
uses) against prometheus_client's text and OpenMetrics parsers, and a minimal split-based
parser written here only as a yardstick (it handles just `name{labels} value` lines without
escapes or checks, so it bounds what any Python parser can reach).

    .venv/bin/python bench/collect_parse.py [--series 10000] [--rounds 5]

Prints samples/second for each parser on the same body; bounded by --rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as client_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as client_text

from watchkeeper.collect.scrape.parse import parse_exposition


def body(series: int, openmetrics: bool) -> str:
    lines = []
    per_metric = 20
    for m in range(series // per_metric):
        lines.append(f"# HELP bench_gauge_{m:04d} A gauge.")
        lines.append(f"# TYPE bench_gauge_{m:04d} gauge")
        for i in range(per_metric):
            lines.append(f'bench_gauge_{m:04d}{{idx="{i}",shard="s{m % 7}"}} {m * 0.5 + i:.2f}')
    if openmetrics:
        lines.append("# EOF")
    return "\n".join(lines) + "\n"


def split_parser(text: str) -> int:
    n = 0
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(",") if kv)
        float(value)
        n += 1 if name and labels is not None else 0
    return n


def measure(fn: Callable[[], int], rounds: int) -> tuple[float, int]:
    times = []
    count = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), count


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    text = body(args.series, openmetrics=False)
    om = body(args.series, openmetrics=True)
    cases: list[tuple[str, Callable[[], int]]] = [
        ("watchkeeper text 0.0.4", lambda: len(parse_exposition(text, "text/plain"))),
        (
            "watchkeeper OpenMetrics",
            lambda: len(parse_exposition(om, "application/openmetrics-text")),
        ),
        ("prometheus_client text 0.0.4", lambda: sum(len(f.samples) for f in client_text(text))),
        (
            "prometheus_client OpenMetrics",
            lambda: sum(len(f.samples) for f in client_openmetrics(om)),
        ),
        ("split-based yardstick (no escapes)", lambda: split_parser(text)),
    ]
    print(f"body: {args.series} samples, {len(text) / 1024:.0f} KiB; median of {args.rounds}")
    for name, fn in cases:
        seconds, n = measure(fn, args.rounds)
        print(f"{name:38s} {n / seconds:12,.0f} samples/s  ({seconds * 1000:7.1f} ms/body)")


if __name__ == "__main__":
    main()
