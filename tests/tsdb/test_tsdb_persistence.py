"""Durability: clean restarts, write-ahead log replay, a real ``kill -9``, the data
directory lock, compaction, retention and rollups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from watchkeeper.core.clock import FakeClock, SystemClock
from watchkeeper.core.errors import StorageError
from watchkeeper.tsdb.embedded import EmbeddedStore

from .tsdb_helpers import T0, L, OpenStore, eq, storage_config

HOUR = 3_600_000


def fill(store: EmbeddedStore, n: int, *, series: int = 3, step: int = 15_000) -> None:
    for i in range(n):
        store.append([(L("m", i=str(j)), T0 + i * step, float(i * 10 + j)) for j in range(series)])


def values_of(
    store: EmbeddedStore, i: str, start: int = T0, end: int = T0 + 100 * HOUR
) -> list[float]:
    found = store.select([eq("i", i)], start, end)
    return found[0].values.tolist() if found else []


def test_clean_restart_keeps_every_sample_and_reloads_the_head(open_store: OpenStore) -> None:
    store = open_store()
    fill(store, 40)
    store.close()
    again = open_store()
    assert values_of(again, "1") == [float(i * 10 + 1) for i in range(40)]
    # The recent part is back in memory (the head), not only on disk.
    assert again.stats().samples_in_head == 3 * 40


def test_unflushed_samples_come_back_from_the_write_ahead_log(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    cfg = storage_config(tmp_path)
    store = EmbeddedStore.open(cfg, clock=fake_clock, background=False)
    fill(store, 10)
    store.flush_head()
    fill_more = [(L("m", i="1"), T0 + 10 * 15_000 + k, 99.0) for k in range(3)]
    store.append(fill_more)
    # Simulate a crash: drop the store without closing it (no flush), release the lock.
    store._dir_lock.release()  # type: ignore[union-attr]
    again = EmbeddedStore.open(cfg, clock=fake_clock, background=False)
    assert values_of(again, "1")[-4:] == [91.0, 99.0, 99.0, 99.0]
    assert len(values_of(again, "1")) == 13
    again.close()


def test_a_second_process_cannot_open_the_same_data_directory(open_store: OpenStore) -> None:
    open_store()
    with pytest.raises(StorageError, match="in use by another Watchkeeper process"):
        open_store()


_WRITER = textwrap.dedent(
    """
    import sys
    from watchkeeper.core.clock import SystemClock
    from watchkeeper.core.labels import Labels
    from watchkeeper.tsdb.config import StorageConfig
    from watchkeeper.tsdb.embedded import EmbeddedStore

    cfg = StorageConfig.model_validate({"path": sys.argv[1], "flush_interval": "300ms"})
    store = EmbeddedStore.open(cfg, clock=SystemClock(), background=True)
    batch = 0
    while True:
        store.append(
            [(Labels({"__name__": "w", "i": str(j)}), 1_000_000 + batch, float(batch))
             for j in range(100)]
        )
        print(batch, flush=True)
        batch += 1
    """
)


@pytest.mark.slow
def test_kill_minus_nine_loses_no_acknowledged_sample(tmp_path: Path) -> None:
    acked = -1
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                acked = int(line)
                if acked >= 1500:  # long enough for a flush or two to have happened
                    break
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    store = EmbeddedStore.open(storage_config(tmp_path), clock=SystemClock(), background=False)
    try:
        found = store.select([eq("__name__", "w")], 0, 10**12)
        assert len(found) == 100
        for data in found:
            got = data.timestamps - 1_000_000
            # Every acknowledged batch is there, in order, exactly once.
            assert got.size >= acked + 1
            assert np.array_equal(got, np.arange(got.size))
            assert np.array_equal(data.values, got.astype(np.float64))
    finally:
        store.close()


def test_compaction_merges_windows_and_keeps_the_data(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    store = open_store(out_of_order_window="0")
    for hour in range(6):
        fill_hour = [
            (L("m", i="1"), T0 + hour * HOUR + k * 60_000, float(hour * 60 + k)) for k in range(60)
        ]
        store.append(fill_hour)
        store.flush_head()
    fake_clock.set(fake_clock.now() + 8 * 3600)
    assert store.compact() == 1
    assert values_of(store, "1") == [float(v) for v in range(360)]
    store.close()
    assert values_of(open_store(), "1") == [float(v) for v in range(360)]


def test_retention_drops_old_chunks_and_forgets_empty_series(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    store = open_store(
        retention="1d", rollup_5m_retention="1d", rollup_1h_retention="1d", head_window="5m"
    )
    store.append([(L("old"), T0, 1.0)])
    store.flush_head()
    fake_clock.set(fake_clock.now() + 3600)
    store.append([(L("new"), T0 + HOUR, 1.0)])
    store.flush_head()
    fake_clock.set(fake_clock.now() + 3 * 86400)
    store.append([(L("new"), T0 + 73 * HOUR, 2.0)])
    store.flush_head()
    store.compact()
    assert store.label_values("__name__") == ["new"]
    assert store.select([eq("__name__", "old")], 0, T0 + 100 * HOUR) == []
    [data] = store.select([eq("__name__", "new")], 0, T0 + 100 * HOUR)
    assert data.values.tolist() == [2.0]


def test_rollups_for_compacted_and_recent_data_agree_with_raw(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    store = open_store(out_of_order_window="0")
    rng = np.random.default_rng(7)
    values = np.round(rng.uniform(0, 100, 6 * 240), 2)
    for k, v in enumerate(values):
        store.append([(L("cpu", host="a"), T0 + k * 15_000, float(v))])
        if k % 240 == 239:
            store.flush_head()
    fake_clock.set(fake_clock.now() + 5 * 3600)  # the first windows are now finished
    store.compact()
    for res in (300_000, 3_600_000):
        [r] = store.select_rollups([eq("host", "a")], T0, T0 + 6 * HOUR, res)
        ts = T0 + np.arange(values.size) * 15_000
        buckets = ts // res * res
        expected = sorted(set(buckets.tolist()))
        assert r.timestamps.tolist() == expected
        for k, start in enumerate(expected):
            inside = values[buckets == start]
            assert r.count[k] == inside.size
            assert r.min[k] == inside.min()
            assert r.max[k] == inside.max()
            assert r.sum[k] == pytest.approx(inside.sum())


def test_self_metrics_count_fsyncs_flushes_compactions_and_bytes(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    store = EmbeddedStore.open(
        storage_config(tmp_path), clock=fake_clock, registry=registry, background=False
    )
    try:
        store.append([(L("m"), T0, 1.0)])
        store.flush()
        store.compact()
        get = registry.get_sample_value
        assert get("watchkeeper_tsdb_wal_fsync_duration_seconds_count") == 1
        assert get("watchkeeper_tsdb_head_flushes_total") == 1  # compaction flushes first
        assert get("watchkeeper_tsdb_compactions_total") == 1
        assert (get("watchkeeper_tsdb_bytes_on_disk") or 0) > 0
        assert get("watchkeeper_tsdb_series") == 1
    finally:
        store.close()


def test_maintain_runs_what_is_due_by_the_clock(
    open_store: OpenStore, fake_clock: FakeClock
) -> None:
    store = open_store(flush_interval="2m", compaction_interval="10m", wal_fsync_interval="1s")
    store.append([(L("m"), T0, 1.0)])
    store.maintain()  # first call only schedules
    assert store.stats().samples_in_head == 1
    fake_clock.set(fake_clock.now() + 121)
    store.maintain()
    found = store._core.backend.chunk_refs(0, 2**62)
    assert [r.series_id for r in found] == [1]
