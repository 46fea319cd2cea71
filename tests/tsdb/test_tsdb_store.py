"""Append and select on the embedded store: matchers, ordering, out-of-order samples,
duplicates, staleness markers, listeners, cardinality limits."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels, Matcher, MatchOp
from watchkeeper.tsdb.base import STALE_NAN, STALE_NAN_BITS, stale_mask
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

from .tsdb_helpers import T0, L, OpenStore, eq


def test_select_returns_samples_sorted_within_range(memory_store: EmbeddedStore) -> None:
    s = L("up", job="api")
    res = memory_store.append([(s, T0 + 2000, 2.0), (s, T0, 0.0), (s, T0 + 1000, 1.0)])
    assert res.appended == 3
    [data] = memory_store.select([eq("__name__", "up")], T0, T0 + 1500)
    assert data.labels == s
    assert data.timestamps.tolist() == [T0, T0 + 1000]
    assert data.values.tolist() == [0.0, 1.0]


def test_matchers_equal_regex_and_negative(memory_store: EmbeddedStore) -> None:
    samples = [
        (L("http_requests_total", job="api", code=code, path=path), T0, 1.0)
        for code in ("200", "404", "500")
        for path in ("/a", "/b")
    ]
    samples.append((L("http_requests_total", job="web"), T0, 1.0))
    memory_store.append(samples)

    def codes(*matchers: Matcher) -> list[str]:
        found = memory_store.select(list(matchers), T0, T0)
        return sorted(f"{d.labels.get('code', '-')}{d.labels.get('path', '')}" for d in found)

    name = eq("__name__", "http_requests_total")
    assert codes(name, eq("code", "404")) == ["404/a", "404/b"]
    assert codes(name, Matcher("code", MatchOp.REGEX, "5..|404"), eq("path", "/a")) == [
        "404/a",
        "500/a",
    ]
    assert codes(name, Matcher("code", MatchOp.REGEX, "200|500")) == [
        "200/a",
        "200/b",
        "500/a",
        "500/b",
    ]
    assert codes(name, Matcher("code", MatchOp.NOT_EQUAL, "200"), eq("path", "/b")) == [
        "404/b",
        "500/b",
    ]
    # A negative matcher also keeps series that lack the label.
    assert codes(name, Matcher("code", MatchOp.NOT_REGEX, "2..|4..|5..")) == ["-"]
    assert codes(name, eq("code", "")) == ["-"]
    assert codes(eq("job", "nope")) == []
    assert len(codes(Matcher("code", MatchOp.REGEX, ".+"))) == 6
    assert len(codes(Matcher("__name__", MatchOp.REGEX, "http_.*"))) == 7


def test_series_outside_the_range_are_not_returned(memory_store: EmbeddedStore) -> None:
    memory_store.append([(L("old"), T0, 1.0), (L("new"), T0 + 60_000, 1.0)])
    names = [d.labels.name for d in memory_store.select([], T0 + 30_000, T0 + 90_000)]
    assert names == ["new"]
    assert memory_store.series([], T0, T0 + 1) == [L("old")]


def test_out_of_order_window_accepts_recent_and_counts_older(fake_clock: FakeClock) -> None:
    store = EmbeddedStore.memory(
        StorageConfig.model_validate({"out_of_order_window": "1m"}), clock=fake_clock
    )
    s = L("temp")
    store.append([(s, T0 + 120_000, 3.0)])
    res = store.append([(s, T0 + 90_000, 2.0), (s, T0 + 30_000, 1.0)])
    assert (res.appended, res.out_of_order) == (1, 1)
    [data] = store.select([], T0, T0 + 200_000)
    assert data.timestamps.tolist() == [T0 + 90_000, T0 + 120_000]


def test_out_of_order_window_zero_rejects_every_older_sample(fake_clock: FakeClock) -> None:
    store = EmbeddedStore.memory(
        StorageConfig.model_validate({"out_of_order_window": "0"}), clock=fake_clock
    )
    s = L("temp")
    store.append([(s, T0 + 2, 1.0)])
    res = store.append([(s, T0 + 1, 1.0)])
    assert (res.appended, res.out_of_order) == (0, 1)


def test_duplicate_timestamps_keep_the_first_value(memory_store: EmbeddedStore) -> None:
    s = L("g")
    memory_store.append([(s, T0, 1.0), (s, T0 + 1000, 2.0)])
    res = memory_store.append([(s, T0 + 1000, 9.0), (s, T0, 9.0)])
    assert (res.appended, res.duplicates) == (0, 2)
    [data] = memory_store.select([], T0, T0 + 1000)
    assert data.values.tolist() == [1.0, 2.0]


def test_staleness_markers_round_trip_bit_exactly(open_store: OpenStore) -> None:
    store = open_store()
    s = L("up", job="x")
    store.append([(s, T0, 1.0), (s, T0 + 1000, STALE_NAN), (s, T0 + 2000, float("nan"))])
    store.flush_head()
    store.close()
    [data] = open_store().select([], T0, T0 + 2000)
    bits = data.values.view(np.uint64)
    assert int(bits[1]) == STALE_NAN_BITS
    assert stale_mask(data.values).tolist() == [False, True, False]
    assert np.isnan(data.values[2])
    assert int(bits[2]) != STALE_NAN_BITS
    assert struct.pack("<d", data.values[1]) == struct.pack("<Q", STALE_NAN_BITS)


def test_listeners_get_the_metric_names_of_each_append(memory_store: EmbeddedStore) -> None:
    seen: list[frozenset[str]] = []
    memory_store.subscribe(seen.append)
    memory_store.append([(L("a"), T0, 1.0), (L("b", x="1"), T0, 1.0), (L("b", x="2"), T0, 1.0)])
    memory_store.append([(L("a"), T0, 5.0)])  # a duplicate: nothing landed
    memory_store.append([(L("c"), T0, 1.0)])
    assert seen == [frozenset({"a", "b"}), frozenset({"c"})]


def test_a_failing_listener_does_not_stop_appends_or_other_listeners(
    memory_store: EmbeddedStore,
) -> None:
    seen: list[frozenset[str]] = []

    def broken(names: frozenset[str]) -> None:
        raise RuntimeError("boom")

    memory_store.subscribe(broken)
    memory_store.subscribe(seen.append)
    assert memory_store.append([(L("a"), T0, 1.0)]).appended == 1
    assert seen == [frozenset({"a"})]


def test_per_target_cardinality_limit_rejects_new_series_with_a_clear_error(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedStore.memory(
        StorageConfig.model_validate({"max_series_per_target": 2}), clock=fake_clock
    )
    with caplog.at_level(logging.WARNING, logger="watchkeeper.tsdb"):
        res = store.append(
            [(L("m", i=str(i)), T0, 1.0) for i in range(4)], source="job=api/instance=a:1"
        )
    assert (res.appended, res.rejected_series) == (2, 2)
    assert res.errors == [
        "series limit reached for target 'job=api/instance=a:1': it already has 2 active "
        "series (storage.max_series_per_target = 2); 2 new series rejected, e.g. "
        'm{i="2"}. Drop or relabel high-cardinality labels on this target, or raise '
        "storage.max_series_per_target"
    ]
    assert res.errors[0] in caplog.text
    # Known series keep flowing; other targets have their own budget.
    assert store.append([(L("m", i="0"), T0 + 1, 1.0)], source="job=api/instance=a:1").appended == 1
    assert store.append([(L("m", i="9"), T0, 1.0)], source="other").appended == 1


def test_global_cardinality_limit_rejects_new_series(fake_clock: FakeClock) -> None:
    store = EmbeddedStore.memory(StorageConfig.model_validate({"max_series": 3}), clock=fake_clock)
    res = store.append([(L("m", i=str(i)), T0, 1.0) for i in range(5)])
    assert (res.appended, res.rejected_series) == (3, 2)
    assert res.errors == [
        "series limit reached: the store already has 3 active series (storage.max_series = 3); "
        '2 new series rejected, e.g. m{i="3"}. Reduce label cardinality or raise '
        "storage.max_series"
    ]
    assert store.stats().series == 3


def test_invalid_series_are_refused_with_a_reason(memory_store: EmbeddedStore) -> None:
    res = memory_store.append([(Labels.of(job="x"), T0, 1.0), (L("ok"), T0, 1.0)])
    assert res.appended == 1
    assert res.errors == ['series {job="x"} has no metric name (__name__); every sample needs one']


def test_label_names_and_values(memory_store: EmbeddedStore) -> None:
    memory_store.append([(L("a", job="x"), T0, 1.0), (L("b", env="prod"), T0 + 10_000, 1.0)])
    assert memory_store.label_names() == ["__name__", "env", "job"]
    assert memory_store.label_names([eq("__name__", "a")]) == ["__name__", "job"]
    assert memory_store.label_values("__name__") == ["a", "b"]
    assert memory_store.label_values("__name__", start_ms=T0 + 5000) == ["b"]


def test_stats_and_self_metrics(fake_clock: FakeClock) -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    store = EmbeddedStore.memory(clock=fake_clock, registry=registry)
    store.append([(L("a"), T0, 1.0), (L("a"), T0, 1.0), (L("b"), T0, 1.0)])
    stats = store.stats()
    assert (stats.series, stats.samples_in_head, stats.samples_appended_total) == (2, 2, 2)
    get = registry.get_sample_value
    assert get("watchkeeper_tsdb_samples_appended_total") == 2
    assert get("watchkeeper_tsdb_duplicate_samples_total") == 1
    assert get("watchkeeper_tsdb_head_series") == 2


def test_a_colon_is_fine_in_metric_names_but_not_in_label_names(
    memory_store: EmbeddedStore,
) -> None:
    ok = memory_store.append([(L("job:rate5m"), T0, 1.0)])
    bad = memory_store.append([(Labels({"__name__": "x", "job:rate5m": "1"}), T0, 1.0)])
    assert ok.appended == 1
    assert bad.appended == 0
    assert bad.errors == [
        "label name 'job:rate5m' of x{job:rate5m=\"1\"} is invalid: use letters, digits and _ "
        "and do not start with a digit"
    ]


def test_series_limit_problem_checks_a_batch_before_anything_is_stored(
    fake_clock: FakeClock,
) -> None:
    store = EmbeddedStore.memory(
        StorageConfig.model_validate({"max_series_per_target": 2, "max_series": 3}),
        clock=fake_clock,
    )
    store.append([(L("m", i="0"), T0, 1.0)], source="a")
    assert store.series_limit_problem({"a": [L("m", i="0"), L("m", i="1")]}) is None
    assert store.series_limit_problem({"a": [L("m", i="1"), L("m", i="2")]}) == (
        "2 new series for target 'a', which already has 1 active series, would pass "
        "storage.max_series_per_target = 2; drop or relabel high-cardinality labels, "
        "or raise the limit"
    )
    assert store.series_limit_problem(
        {"b": [L("n", i="1")], "c": [L("n", i="2"), L("n", i="3")]}
    ) == (
        "3 new series would pass storage.max_series = 3 (the store has 1 active series); "
        "reduce label cardinality or raise the limit"
    )
    assert store.stats().series == 1


def test_a_source_appending_the_same_series_again_after_they_went_idle_lands_every_sample(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    """A source's repeated appends reuse its last series lookup; series retired in between
    (idle past the head window) must be activated again."""
    store = open_store(head_window="1m")
    a, b = L("g", i="a"), L("g", i="b")
    assert store.append([(a, T0, 1.0), (b, T0, 2.0)], source="t").appended == 2
    assert store.append([(a, T0 + 1000, 3.0), (b, T0 + 1000, 4.0)], source="t").appended == 2
    fake_clock.set(fake_clock.now() + 180)
    store.flush_head()  # persisted, then retired from the head: idle for 3 minutes
    later = T0 + 180_000
    assert store.append([(a, later, 5.0), (b, later, 6.0)], source="t").appended == 2
    got = {d.labels["i"]: d.values.tolist() for d in store.select([], T0, later)}
    assert got == {"a": [1.0, 3.0, 5.0], "b": [2.0, 4.0, 6.0]}


def test_a_series_twice_in_one_append_keeps_the_first_sample(memory_store: EmbeddedStore) -> None:
    s = L("g")
    for _ in range(2):  # the second time through the source's remembered lookup
        res = memory_store.append([(s, T0, 1.0), (s, T0, 2.0)], source="t")
    assert (res.appended, res.duplicates) == (0, 2)
    [data] = memory_store.select([], T0, T0)
    assert data.values.tolist() == [1.0]


def test_invalid_series_and_invalid_samples_of_one_append_are_one_error(
    memory_store: EmbeddedStore,
) -> None:
    res = memory_store.append([(L("1bad"), T0, 1.0), (L("g"), "x", 1.0), (L("h"), T0, 2.0)])  # type: ignore[list-item]
    assert res.appended == 1
    assert len(res.errors) == 1
    assert "metric name '1bad' is invalid" in res.errors[0]
    assert res.errors[0].endswith("(and 1 more)")
