"""From a collector's result to stored samples: target labels, synthetic series and
staleness markers, as Prometheus' scrape loop writes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
    change, or when it holds more than ``limit`` sets."""

    __slots__ = ("_base", "_honor", "_merged", "limit")

    def __init__(self, limit: int = SERIES_CACHE_MAX) -> None:
        self._base: Labels | None = None
        self._honor = False
        self._merged: dict[Labels, Labels] = {}
        self.limit = limit

    def table(self, base: Labels, honor_labels: bool) -> dict[Labels, Labels]:
        if base != self._base or honor_labels != self._honor or len(self._merged) > self.limit:
            self._base, self._honor, self._merged = base, honor_labels, {}
        return self._merged


def labelled(
    target: Target,
    samples: Iterable[SampleOut],
    honor_labels: bool,
    now_ms: int,
    cache: MergeCache | None = None,
) -> tuple[list[Sample], set[Labels]]:
    """Samples with target labels, and the set of series that follow staleness (those
    without an explicit timestamp, as in Prometheus). With ``cache``, the merged label set
    of an exposed :class:`Labels` seen before is reused."""
    out: list[Sample] = []
    tracked: set[Labels] = set()
    base = target.labels
    merged = cache.table(base, honor_labels) if cache is not None else None
    for exposed, value, ts in samples:
        if merged is not None and isinstance(exposed, Labels):
            labels = merged.get(exposed)
            if labels is None:
                labels = merged[exposed] = merge_labels(base, exposed, honor_labels)
        else:
            labels = merge_labels(base, exposed, honor_labels)
        if ts is None:
            out.append((labels, now_ms, float(value)))
            tracked.add(labels)
        else:
            out.append((labels, int(ts), float(value)))
    return out, tracked


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
