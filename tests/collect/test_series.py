"""Target labels on collected samples, and the cache of merged label sets kept per target
from one run to the next."""

from __future__ import annotations

from dataclasses import replace

from watchkeeper.collect.base import Target
from watchkeeper.collect.series import MergeCache, labelled
from watchkeeper.core.labels import Labels

TARGET = Target(
    service="api",
    name="metrics",
    kind="scrape",
    job="api",
    instance="a:9100",
    interval=15.0,
    timeout=10.0,
    labels=Labels({"job": "api", "instance": "a:9100", "service": "api"}),
)
EXPOSED = Labels({"__name__": "x", "job": "exporter", "path": "/"})


def test_a_cached_merge_is_the_same_set_run_after_run_and_equals_the_uncached_one() -> None:
    cache = MergeCache()
    first, _ = labelled(TARGET, [(EXPOSED, 1.0, None)], False, 1000, cache)
    second, tracked = labelled(TARGET, [(EXPOSED, 2.0, None)], False, 2000, cache)
    plain, _ = labelled(TARGET, [(EXPOSED, 3.0, None)], False, 3000)
    assert first[0][0] is second[0][0]
    assert (
        second[0][0]
        == plain[0][0]
        == Labels(
            {"__name__": "x", "job": "api", "exported_job": "exporter", "path": "/"}
            | {"instance": "a:9100", "service": "api"}
        )
    )
    assert tracked == {second[0][0]}


def test_the_cache_starts_again_when_the_target_labels_or_honor_labels_change() -> None:
    cache = MergeCache()
    (before, *_), _ = labelled(TARGET, [(EXPOSED, 1.0, None)], False, 1000, cache)
    moved = replace(TARGET, labels=TARGET.labels.with_(instance="b:9100"))
    (after, *_), _ = labelled(moved, [(EXPOSED, 1.0, None)], False, 2000, cache)
    assert after[0]["instance"] == "b:9100"
    (honored, *_), _ = labelled(moved, [(EXPOSED, 1.0, None)], True, 3000, cache)
    assert honored[0]["job"] == "exporter"
    assert "exported_job" not in honored[0]
    assert before[0]["instance"] == "a:9100"


def test_the_cache_is_bounded_and_plain_mappings_bypass_it() -> None:
    cache = MergeCache(limit=2)
    many = [(EXPOSED.with_(path=f"/{i}"), 1.0, None) for i in range(5)]
    labelled(TARGET, many, False, 1000, cache)
    assert len(cache.table(TARGET.labels, False)) == 0  # over the limit: emptied
    out, _ = labelled(TARGET, [({"__name__": "y", "k": "v"}, 1.0, 5)], False, 2000, cache)
    assert out == [(Labels({"__name__": "y", "k": "v", **TARGET.labels}), 5, 1.0)]
