"""Garbage-collector settings for the long-running server process (``serve``).

CPython collects its youngest generation after every 700 net container allocations. A
scrape of 1,000 series allocates a few thousand short-lived tuples, so under scrape load
the collector ran about four times per scrape, and every tenth of those went on to the
older generations, which hold every series' label set: at 50,000 samples/s it took about
a sixth of the process's CPU (``bench/`` figures in docs/performance.md). A young
generation of 50,000 objects is collected a hundred times less often, at the cost of a few
megabytes of not-yet-collected garbage; what startup built (modules, configuration, the
web application) is frozen, so the older collections never walk it again.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000


def tune_for_server() -> None:
    """Freeze what exists now and collect the young generation less often; call once,
    after startup has built the runtime."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
