"""Edge cases: out-of-order samples into flushed time, a torn write-ahead log, reads while
writing, memory and disk engines agreeing, idle series leaving the head, regex lookups."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Matcher, MatchOp
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

from .tsdb_helpers import T0, L, OpenStore, eq, storage_config

MIN = 60_000


def test_out_of_order_sample_into_flushed_time_survives_restart(open_store: OpenStore) -> None:
    store = open_store(out_of_order_window="10m")
    s = L("m")
    store.append([(s, T0 + k * MIN, float(k)) for k in range(0, 10, 2)])
    store.flush_head()
    assert store.append([(s, T0 + 3 * MIN, 3.0)]).appended == 1
    store.flush_head()
    store.close()
    [data] = open_store().select([], T0, T0 + 20 * MIN)
    assert data.values.tolist() == [0.0, 2.0, 3.0, 4.0, 6.0, 8.0]


def test_a_torn_write_ahead_log_tail_keeps_what_came_before(
    tmp_path: Path, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = storage_config(tmp_path)
    store = EmbeddedStore.open(cfg, clock=fake_clock, background=False)
    for k in range(5):
        store.append([(L("m"), T0 + k, float(k))])
    store._dir_lock.release()  # type: ignore[union-attr]  # a crash: nothing flushed
    segment = max((tmp_path / "tsdb" / "wal").iterdir())
    data = segment.read_bytes()
    segment.write_bytes(data[:-7])  # the last record is cut short
    with caplog.at_level(logging.WARNING, logger="watchkeeper.tsdb"):
        again = EmbeddedStore.open(cfg, clock=fake_clock, background=False)
    [series] = again.select([], T0, T0 + 10)
    assert series.values.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert "corrupt record" in caplog.text
    again.close()


def test_reads_while_appending_see_whole_consistent_series(open_store: OpenStore) -> None:
    store = open_store(head_window="1m")
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                for data in store.select([eq("__name__", "m")], T0, T0 + 10**9):
                    ts = data.timestamps
                    # Sorted, no duplicates, no gaps in the 1..n sequence written.
                    assert np.array_equal(ts - T0, np.arange(ts.size))
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for k in range(400):
            store.append([(L("m", i=str(i)), T0 + k, float(k)) for i in range(5)])
            if k % 50 == 49:
                store.flush_head()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors
    assert all(d.timestamps.size == 400 for d in store.select([], T0, T0 + 10**9))


def test_memory_and_disk_engines_return_the_same_data(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    cfg = {"out_of_order_window": "5m", "head_window": "10m"}
    disk = open_store(**cfg)
    memory = EmbeddedStore.memory(StorageConfig.model_validate(cfg), clock=fake_clock)
    rng = np.random.default_rng(5)
    for step in range(300):
        batch = [
            (L("g", i=str(i)), T0 + step * 30_000 - int(rng.integers(0, 3)) * 60_000, float(step))
            for i in range(3)
        ]
        for store in (disk, memory):
            store.append(batch)
            if step % 40 == 39:
                store.flush_head()
        fake_clock.set(fake_clock.now() + 30)
    for store in (disk, memory):
        store.compact()
    got = [
        {str(d.labels): (d.timestamps.tolist(), d.values.tolist()) for d in s.select([], 0, 2 * T0)}
        for s in (disk, memory)
    ]
    assert got[0] == got[1]
    assert len(got[0]) == 3


def test_idle_series_leave_the_head_and_free_their_target_budget(
    fake_clock: FakeClock,
) -> None:
    store = EmbeddedStore.memory(
        StorageConfig.model_validate({"max_series_per_target": 2, "head_window": "5m"}),
        clock=fake_clock,
    )
    now = int(fake_clock.now() * 1000)
    store.append([(L("a"), now, 1.0), (L("b"), now, 1.0)], source="t")
    assert store.append([(L("c"), now, 1.0)], source="t").rejected_series == 1
    fake_clock.set(fake_clock.now() + 600)
    store.flush_head()
    assert store.stats().samples_in_head == 0
    assert store.append([(L("c"), now + 600_000, 1.0)], source="t").appended == 1
    # The idle series are still there for queries.
    assert sorted(d.labels.name for d in store.select([], 0, 2 * now)) == ["a", "b", "c"]


def test_regex_lookups_treat_metacharacters_as_regex(memory_store: EmbeddedStore) -> None:
    memory_store.append([(L("m", v=v), T0, 1.0) for v in ("a.b", "axb", "foo", "bar", "ab")])

    def values(pattern: str) -> list[str]:
        found = memory_store.series([Matcher("v", MatchOp.REGEX, pattern)], 0, 2 * T0)
        return sorted(s["v"] for s in found)

    assert values("a.b") == ["a.b", "axb"]
    assert values("foo|bar") == ["bar", "foo"]
    assert values("a\\.b") == ["a.b"]
    assert values("fo") == []  # anchored
    assert values("a.?b") == ["a.b", "ab", "axb"]


def test_rollups_outlive_raw_samples(open_store: OpenStore, fake_clock: FakeClock) -> None:
    store = open_store(retention="1d", rollup_1h_retention="30d", out_of_order_window="0")
    store.append([(L("cpu"), T0 + k * MIN, float(k)) for k in range(120)])
    fake_clock.set(fake_clock.now() + 3 * 86400)
    store.append([(L("cpu"), T0 + 3 * 86_400_000, 0.0)])
    store.compact()
    assert [d.timestamps.size for d in store.select([eq("__name__", "cpu")], 0, 2 * T0)] == [1]
    [r] = store.select_rollups([eq("__name__", "cpu")], 0, T0 + 86_400_000, 3_600_000)
    assert int(r.count.sum()) == 120
    assert float(r.max.max()) == 119.0
    with pytest.raises(ValueError, match="rollup resolution 60000ms is not kept"):
        store.select_rollups([], 0, T0, 60_000)


def test_trimming_the_head_does_not_hide_backfilled_samples_inside_its_range(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    now = int(fake_clock.now() * 1000)
    store = open_store(head_window="10m")
    s = L("m")
    store.append([(s, now - k * MIN, float(k)) for k in range(8, -1, -2)])  # -8m .. now
    store.import_series({s: (np.array([now - 3 * MIN]), np.array([99.0]))})
    fake_clock.set(fake_clock.now() + 180)
    store.flush_head()  # trims -8m from the head; -3m lives only on disk
    [data] = store.select([], now - 5 * MIN, now)
    assert data.values.tolist() == [4.0, 99.0, 2.0, 0.0]
