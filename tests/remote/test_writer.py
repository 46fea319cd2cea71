"""The remote-write sender: what it sends, how it retries, what it drops, and its queue
across a restart (against Watchkeeper's own receiver on a loopback port)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.remote.codec import decode_request
from watchkeeper.remote.config import RemoteWriteConfig
from watchkeeper.remote.service import ForwardingStore, RemoteWriteService
from watchkeeper.remote.writer import RemoteWriteMetrics, RemoteWriter
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.tsdb.base import STALE_NAN, Sample, is_stale_nan
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import metric, push_app

T0 = 1_700_000_000_000


class Remote:
    """A remote-write endpoint that answers from a script and keeps what it accepted."""

    def __init__(self, script: list[tuple[int, dict[str, str]]] | None = None) -> None:
        self.script = list(script or [])
        self.accepted: list[list[Sample]] = []
        self.headers: list[dict[str, str]] = []
        self.app = FastAPI()

        @self.app.post("/api/v1/write")
        async def write(request: Request) -> Response:
            self.headers.append(dict(request.headers))
            if self.script:
                status, headers = self.script.pop(0)
                return Response(f"scripted {status}", status_code=status, headers=headers)
            self.accepted.append(decode_request(await request.body()))
            return Response(status_code=204)

    @property
    def samples(self) -> list[Sample]:
        return [s for batch in self.accepted for s in batch]


def make_writer(
    tmp_path: Path,
    clock: FakeClock,
    remote: Remote | None = None,
    *,
    registry: CollectorRegistry | None = None,
    **config: Any,
) -> RemoteWriter:
    cfg = RemoteWriteConfig.model_validate(
        {"url": "http://remote/api/v1/write", "name": "remote", **config}
    )
    return RemoteWriter(
        cfg,
        directory=tmp_path / "queue",
        clock=clock,
        metrics=RemoteWriteMetrics(registry or CollectorRegistry()),
        transport=httpx.ASGITransport(app=remote.app) if remote else None,
        external_labels={"cluster": "eu-1"},
    )


async def until(condition: Callable[[], bool], clock: FakeClock, seconds: float = 10.0) -> None:
    """Let time pass (on the fake clock, one second a step) until ``condition`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await clock.advance(1.0)
        await asyncio.sleep(0.01)


def up(instance: str, ts: int, value: float) -> Sample:
    return (Labels({"__name__": "up", "job": "node", "instance": instance}), ts, value)


async def test_samples_arrive_with_external_labels_and_remote_write_headers(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    remote = Remote()
    writer = make_writer(tmp_path, fake_clock, remote, bearer_token="s3cret")
    await writer.start()
    try:
        writer.enqueue([up("a", T0, 1.0), up("a", T0 + 1000, STALE_NAN), up("b", T0, 0.0)])
        await writer.flush()
        await until(lambda: len(remote.samples) == 3, fake_clock)
    finally:
        await writer.stop()
    by_instance = {(lab["instance"], t): v for lab, t, v in remote.samples}
    assert by_instance[("a", T0)] == 1.0
    assert is_stale_nan(by_instance[("a", T0 + 1000)])
    assert all(lab["cluster"] == "eu-1" for lab, _, _ in remote.samples)
    headers = remote.headers[0]
    assert headers["content-encoding"] == "snappy"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["x-prometheus-remote-write-version"] == "0.1.0"
    assert headers["authorization"] == "Bearer s3cret"


async def test_batches_hold_at_most_max_samples_per_send_and_keep_time_order(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    remote = Remote()
    writer = make_writer(
        tmp_path, fake_clock, remote, queue={"max_samples_per_send": 3, "capacity": 100}
    )
    await writer.start()
    try:
        writer.enqueue([up("a", T0 + i * 1000, float(i)) for i in range(7)])
        await writer.flush()
        await until(lambda: len(remote.samples) == 7, fake_clock)
    finally:
        await writer.stop()
    assert [len(b) for b in remote.accepted] == [3, 3, 1]
    assert [t for _, t, _ in remote.samples] == [T0 + i * 1000 for i in range(7)]


async def test_5xx_and_429_are_retried_with_backoff_until_accepted(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    registry = CollectorRegistry()
    remote = Remote([(503, {}), (429, {"Retry-After": "30"}), (500, {})])
    writer = make_writer(tmp_path, fake_clock, remote, registry=registry)
    await writer.start()
    try:
        writer.enqueue([up("a", T0, 1.0)])
        await writer.flush()
        await until(lambda: len(remote.headers) >= 2, fake_clock)
        started = fake_clock.now()
        await until(lambda: len(remote.samples) == 1, fake_clock, seconds=20)
    finally:
        await writer.stop()
    assert fake_clock.now() - started >= 30  # Retry-After was honoured
    assert metric(registry, "watchkeeper_remote_write_retries_total", remote_name="remote") == 3
    assert (
        metric(registry, "watchkeeper_remote_write_samples_sent_total", remote_name="remote") == 1
    )
    codes = {
        code: metric(
            registry, "watchkeeper_remote_write_requests_total", remote_name="remote", code=code
        )
        for code in ("503", "429", "500", "204")
    }
    assert codes == {"503": 1, "429": 1, "500": 1, "204": 1}
    assert writer.queue.depth().samples == 0


async def test_a_400_drops_the_batch_counts_it_failed_and_the_next_one_is_sent(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    registry = CollectorRegistry()
    remote = Remote([(400, {})])
    writer = make_writer(tmp_path, fake_clock, remote, registry=registry)
    await writer.start()
    try:
        writer.enqueue([up("a", T0, 1.0), up("b", T0, 1.0)])
        await writer.flush()
        await until(lambda: len(remote.headers) == 1, fake_clock)
        writer.enqueue([up("a", T0 + 1000, 2.0)])
        await writer.flush()
        await until(lambda: len(remote.samples) == 1, fake_clock)
    finally:
        await writer.stop()
    assert (
        metric(registry, "watchkeeper_remote_write_samples_failed_total", remote_name="remote") == 2
    )
    assert remote.samples[0][1] == T0 + 1000


async def test_samples_over_the_memory_capacity_are_dropped_and_counted(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    registry = CollectorRegistry()
    writer = make_writer(
        tmp_path,
        fake_clock,
        Remote(),
        registry=registry,
        queue={"capacity": 5, "max_samples_per_send": 5},
    )
    writer.enqueue([up("a", T0 + i, 1.0) for i in range(8)])
    dropped = metric(
        registry,
        "watchkeeper_remote_write_samples_dropped_total",
        remote_name="remote",
        reason="buffer_full",
    )
    assert dropped == 3
    assert metric(registry, "watchkeeper_remote_write_pending_samples", remote_name="remote") == 5
    await writer.stop()  # never started: stopping writes the buffer to the disk queue
    assert writer.queue.depth().samples == 5


async def test_queue_survives_a_restart_with_the_receiver_down_and_drains_after(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/prometheus/api/v1/write"
    store = EmbeddedStore.memory(clock=fake_clock)
    receiver = push_app(store, fake_clock, tmp_path)
    config = {"url": url, "name": "wk", "bearer_token": receiver.writer_token}
    cfg = RemoteWriteConfig.model_validate(config)

    def writer() -> RemoteWriter:
        return RemoteWriter(
            cfg, directory=tmp_path / "q", clock=fake_clock, metrics=RemoteWriteMetrics(None)
        )

    first = writer()
    await first.start()
    sent = [up(f"i{i % 5}", T0 + i * 1000, float(i)) for i in range(50)]
    first.enqueue(sent[:30])
    await first.flush()
    await until(lambda: "ConnectError" in first.last_error, fake_clock)
    first.enqueue(sent[30:])
    await first.stop()  # the receiver never answered: everything is on disk
    second = writer()
    assert second.queue.depth().samples == 50
    with FakeServer(receiver.app, port=port):
        await second.start()
        try:
            await until(lambda: second.queue.depth().samples == 0, fake_clock, seconds=30)
        finally:
            await second.stop()
    got = sorted(
        (d.labels["instance"], t, v)
        for d in store.select([Matcher.equal("__name__", "up")], 0, 2**62)
        for t, v in zip(d.timestamps.tolist(), d.values.tolist(), strict=True)
    )
    assert got == sorted((lab["instance"], t, v) for lab, t, v in sent)
    receiver.db.dispose()
    store.close()


async def test_the_forwarding_store_stores_locally_and_sends_the_same_samples(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    remote = Remote()
    writer = make_writer(tmp_path, fake_clock, remote)
    inner = EmbeddedStore.memory(clock=fake_clock)
    store = ForwardingStore(inner, RemoteWriteService([writer]))
    await writer.start()
    try:
        result = store.append(iter([up("a", T0, 1.0), up("a", T0 + 1000, 2.0)]), source="t")
        await writer.flush()
        await until(lambda: len(remote.samples) == 2, fake_clock)
    finally:
        await writer.stop()
    assert result.appended == 2
    assert store.stats().samples_appended_total == 2
    assert store.series_limit_problem({"t": [Labels({"__name__": "x"})]}) is None
    assert [v for _, _, v in remote.samples] == [1.0, 2.0]
    inner.close()
