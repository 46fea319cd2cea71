"""The runtime's one call: the remote parts built from the ``storage`` section, without a
remote and with VictoriaMetrics as both the remote-write target and ``query_url``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import FakeClock, SystemClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine
from watchkeeper.remote.query import RemotePromQL
from watchkeeper.remote.reader import RemoteSeriesReader
from watchkeeper.remote.service import ForwardingStore
from watchkeeper.remote.wiring import RemoteStorage
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import body
from .tsdbs import TSDBProcess, vm_force_flush


def test_without_a_remote_everything_is_the_embedded_store_and_engine(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    store = EmbeddedStore.memory(clock=fake_clock)
    remote = RemoteStorage.build(
        StorageConfig.model_validate({}), store=store, data_dir=tmp_path, clock=fake_clock
    )
    assert remote.ingest_store is store
    assert remote.query_store is store
    assert isinstance(remote.engine, Engine)
    assert remote.event_driven
    t = int(fake_clock.now() * 1000)
    result = remote.push.remote_write(body([({"__name__": "up", "job": "a"}, [(t, 1.0)])]))
    assert result.appended == 1
    assert remote.engine.samples("up", fake_clock.now()) == [
        (Labels({"__name__": "up", "job": "a"}), 1.0)
    ]
    store.close()


@pytest.mark.victoriametrics
async def test_with_victoriametrics_samples_go_out_and_queries_come_back(
    vm: TSDBProcess, tmp_path: Path
) -> None:
    clock = SystemClock()
    storage = StorageConfig.model_validate(
        {
            "remote_write": [
                {"url": vm.url + "/api/v1/write", "queue": {"batch_send_deadline": "1s"}}
            ],
            "query_url": vm.url,
        }
    )
    store = EmbeddedStore.memory(clock=clock)
    remote = RemoteStorage.build(
        storage,
        store=store,
        data_dir=tmp_path,
        clock=clock,
        registry=CollectorRegistry(),
        external_labels={"cluster": "eu-1"},
    )
    assert isinstance(remote.ingest_store, ForwardingStore)
    assert isinstance(remote.engine, RemotePromQL)
    assert isinstance(remote.query_store, RemoteSeriesReader)
    assert not remote.event_driven
    await remote.start()
    try:
        now_ms = (int(clock.now()) - 5) * 1000
        scraped = Labels({"__name__": "up", "job": "api", "instance": "a"})
        remote.ingest_store.append([(scraped, now_ms, 1.0)], source="api/a")
        pushed = remote.push.text(f'backups_total{{job="cron"}} 7 {now_ms}\n'.encode())
        assert pushed.appended == 1
        await remote.remote_write.flush()
        writer = remote.remote_write.writers[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while writer.queue.depth().samples and loop.time() < deadline:
            await asyncio.sleep(0.05)
        vm_force_flush(vm)
        at = now_ms / 1000
        assert remote.engine.samples("up", at) == [(scraped.with_(cluster="eu-1"), 1.0)]
        assert [v for _, v in remote.engine.samples("backups_total", at)] == [7.0]
        assert remote.query_store.label_values("job") == ["api", "cron"]
        assert len(store.series([], 0, 2**62)) == 2  # the embedded store has them too
    finally:
        await remote.stop()
        store.close()
