"""From a collector's result to stored samples: target labels, synthetic series and
staleness markers, as Prometheus' scrape loop writes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import repeat

from watchkeeper.collect.base import SampleOut, Target
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.tsdb.base import STALE_NAN, Sample

SYNTHETIC_SERIES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


def merge_labels(target: Labels, exposed: Mapping[str, str], honor_labels: bool) -> Labels:
    """Prometheus' rule: with ``honor_labels`` the exposed labels win; without it a
    conflicting exposed label is kept as ``exported_<name>`` and the target label wins."""
    if isinstance(exposed, Labels):
        exposed = exposed.to_dict()
    merged = dict(exposed)
    for name, value in target.items():
        if name in merged and merged[name] != "":
            if honor_labels:
                continue
            if merged[name] != value:
                exported = f"exported_{name}"
                while exported in merged:
                    exported = f"exported_{exported}"
                merged[exported] = merged[name]
        merged[name] = value
    return Labels(merged)


SERIES_CACHE_MAX = 200_000
"""Label sets a target's caches hold before they are emptied (a target whose series churn,
e.g. a label with a request id, would otherwise grow them without end)."""


class MergeCache:
    """One target's merged label sets by the exposed label set (the target's labels
    applied as :func:`merge_labels` does), kept from one run to the next: a target exposes
    the same series run after run. Emptied when the target's labels or ``honor_labels``
    change, or when it holds more than ``limit`` sets.

    It also keeps the last run's exposed label sets, in order, with their merged sets:
    when the next run exposes the very same sets in the same order (the usual case), they
    are reused whole, without a lookup per series."""

    __slots__ = ("_base", "_honor", "_last", "_merged", "limit")

    def __init__(self, limit: int = SERIES_CACHE_MAX) -> None:
        self._base: Labels | None = None
        self._honor = False
        self._merged: dict[Labels, Labels] = {}
        self._last: tuple[tuple[Labels, ...], list[Labels], frozenset[Labels]] | None = None
        self.limit = limit

    def table(self, base: Labels, honor_labels: bool) -> dict[Labels, Labels]:
        if base != self._base or honor_labels != self._honor or len(self._merged) > self.limit:
            self._base, self._honor, self._merged = base, honor_labels, {}
            self._last = None
        return self._merged

    def merge_all(
        self, base: Labels, honor_labels: bool, exposed: tuple[Labels, ...]
    ) -> tuple[list[Labels], frozenset[Labels]]:
        """The merged label sets of ``exposed``, in order, and the set of them (the very
        same set object as last time when nothing changed)."""
        merged = self.table(base, honor_labels)
        last = self._last
        if last is not None and last[0] == exposed:  # the same objects: no lookups
            return last[1], last[2]
        out = [_merged(merged, base, labels, honor_labels) for labels in exposed]
        self._last = (exposed, out, frozenset(out))
        return out, self._last[2]


def labelled(
    target: Target,
    samples: Sequence[SampleOut],
    honor_labels: bool,
    now_ms: int,
    cache: MergeCache | None = None,
) -> tuple[list[Sample], AbstractSet[Labels]]:
    """Samples with target labels, and the set of series that follow staleness (those
    without an explicit timestamp, as in Prometheus). With ``cache``, the merged label set
    of an exposed :class:`Labels` seen before is reused, and when a run exposes the same
    label sets as the last, the set returned is the very same object as last time."""
    base = target.labels
    if cache is not None and samples:
        exposed, values, stamps = zip(*samples, strict=True)
        if stamps.count(None) == len(stamps) and set(map(type, exposed)) == {Labels}:
            merged_all, tracked = cache.merge_all(base, honor_labels, exposed)
            return list(zip(merged_all, repeat(now_ms), map(float, values))), tracked
    out: list[Sample] = []
    found: set[Labels] = set()
    merged = cache.table(base, honor_labels) if cache is not None else None
    for exposed_labels, value, ts in samples:
        if merged is not None and isinstance(exposed_labels, Labels):
            labels = _merged(merged, base, exposed_labels, honor_labels)
        else:
            labels = merge_labels(base, exposed_labels, honor_labels)
        if ts is None:
            out.append((labels, now_ms, float(value)))
            found.add(labels)
        else:
            out.append((labels, int(ts), float(value)))
    return out, found


def _merged(
    table: dict[Labels, Labels], base: Labels, exposed: Labels, honor_labels: bool
) -> Labels:
    """``exposed`` merged with the target labels ``base``, from ``table`` or added to it."""
    found = table.get(exposed)
    if found is None:
        found = table[exposed] = merge_labels(base, exposed, honor_labels)
    return found


def stale_markers(series: Iterable[Labels], now_ms: int) -> list[Sample]:
    return [(labels, now_ms, STALE_NAN) for labels in series]


def synthetic(
    target: Target,
    now_ms: int,
    *,
    up: bool,
    duration: float,
    scraped: int,
    post_relabel: int,
    added: int,
) -> list[Sample]:
    values = (1.0 if up else 0.0, duration, float(scraped), float(post_relabel), float(added))
    return [
        (target.labels.with_(**{METRIC_NAME: name}), now_ms, value)
        for name, value in zip(SYNTHETIC_SERIES, values, strict=True)
    ]


def synthetic_labels(target: Target) -> list[Labels]:
    return [target.labels.with_(**{METRIC_NAME: name}) for name in SYNTHETIC_SERIES]
