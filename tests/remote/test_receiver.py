"""The remote-write receiver: what it stores, what it refuses, and how it answers."""

from __future__ import annotations

import gzip
import math
from collections.abc import AsyncIterator
from pathlib import Path

import cramjam
import httpx
import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql import Engine, Vector
from watchkeeper.remote.config import PushConfig
from watchkeeper.remote.errors import SeriesLimitError
from watchkeeper.tsdb.base import STALE_NAN, is_stale_nan
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import PushApp, body, error_of, metric, push_app, write_request

T0 = 1_700_000_000_000
WRITE = "/prometheus/api/v1/write"
UP = {"__name__": "up", "job": "node", "instance": "a:9100"}


def stored(store: EmbeddedStore, name: str) -> dict[Labels, list[tuple[int, float]]]:
    out = {}
    for data in store.select([Matcher.equal("__name__", name)], 0, 2**62):
        out[data.labels] = list(zip(data.timestamps.tolist(), data.values.tolist(), strict=True))
    return out


async def test_samples_are_stored_with_their_own_timestamps(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    rows = [
        (UP, [(T0, 1.0), (T0 + 15_000, 0.0)]),
        ({"__name__": "load", "job": "node", "instance": "a:9100", "cpu": "0"}, [(T0, 0.25)]),
    ]
    response = await client.post(WRITE, content=body(rows), headers=pushed.headers())
    assert response.status_code == 204, response.text
    assert response.headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert stored(store, "up") == {Labels(UP): [(T0, 1.0), (T0 + 15_000, 0.0)]}
    assert list(stored(store, "load").values()) == [[(T0, 0.25)]]
    samples = metric(
        pushed.registry, "watchkeeper_push_samples_appended_total", kind="remote_write"
    )
    assert samples == 3


async def test_staleness_marker_ends_the_series_for_queries(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore, fake_clock: FakeClock
) -> None:
    rows = [(UP, [(T0, 1.0), (T0 + 15_000, STALE_NAN)])]
    response = await client.post(WRITE, content=body(rows), headers=pushed.headers())
    assert response.status_code == 204, response.text
    (points,) = stored(store, "up").values()
    assert is_stale_nan(points[1][1])
    engine = Engine(store, clock=fake_clock)
    before = engine.instant("up", (T0 + 10_000) / 1000)
    after = engine.instant("up", (T0 + 20_000) / 1000)
    assert isinstance(before, Vector)
    assert len(before) == 1
    assert isinstance(after, Vector)
    assert len(after) == 0


async def test_out_of_order_samples_within_the_window_are_kept_and_older_ones_counted(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    first = await client.post(WRITE, content=body([(UP, [(T0, 1.0)])]), headers=pushed.headers())
    assert first.status_code == 204
    late = [(UP, [(T0 - 60_000, 2.0), (T0 - 3_600_000, 3.0), (T0 - 7_200_000, 4.0)])]
    response = await client.post(WRITE, content=body(late), headers=pushed.headers())
    assert response.status_code == 400
    error = error_of(response)
    assert error["data"]["out_of_order"] == 2
    assert error["data"]["appended"] == 1
    assert "out-of-order window (600s" in error["error"]
    assert stored(store, "up") == {Labels(UP): [(T0 - 60_000, 2.0), (T0, 1.0)]}
    assert (
        metric(
            pushed.registry,
            "watchkeeper_push_samples_rejected_total",
            kind="remote_write",
            reason="out_of_order",
        )
        == 2
    )


async def test_a_retried_batch_is_a_success_and_stores_nothing_twice(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    payload = body([(UP, [(T0, 1.0), (T0 + 1000, 2.0)])])
    for _ in range(2):
        response = await client.post(WRITE, content=payload, headers=pushed.headers())
        assert response.status_code == 204
    assert stored(store, "up") == {Labels(UP): [(T0, 1.0), (T0 + 1000, 2.0)]}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff\xff garbage")), "not a remote-write"),
        (write_request([(UP, [(T0, 1.0)])]).SerializeToString(), "not snappy"),
        (gzip.compress(write_request([(UP, [(T0, 1.0)])]).SerializeToString()), "not snappy"),
        (bytes(cramjam.snappy.compress(b"framed, not block")), "not snappy"),
    ],
    ids=["bad-protobuf", "uncompressed", "gzip-as-snappy", "snappy-framed"],
)
async def test_malformed_bodies_are_refused_with_400_and_nothing_is_stored(
    client: httpx.AsyncClient,
    pushed: PushApp,
    store: EmbeddedStore,
    payload: bytes,
    words: str,
) -> None:
    response = await client.post(WRITE, content=payload, headers=pushed.headers())
    assert response.status_code == 400
    assert words in error_of(response)["error"]
    assert store.stats().series == 0
    ok = await client.post(WRITE, content=body([(UP, [(T0, 1.0)])]), headers=pushed.headers())
    assert ok.status_code == 204


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"Content-Encoding": "gzip"}, "Content-Encoding 'gzip'"),
        ({"Content-Encoding": "zstd"}, "Content-Encoding 'zstd'"),
        (
            {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
            "remote write 2.0",
        ),
        ({"X-Prometheus-Remote-Write-Version": "2.0.0"}, "remote write 2.0"),
        ({"Content-Type": "text/plain"}, "import/prometheus"),
    ],
)
async def test_other_encodings_and_protocols_get_415(
    client: httpx.AsyncClient,
    pushed: PushApp,
    store: EmbeddedStore,
    headers: dict[str, str],
    words: str,
) -> None:
    payload = body([(UP, [(T0, 1.0)])])
    response = await client.post(WRITE, content=payload, headers=pushed.headers(**headers))
    assert response.status_code == 415
    assert words in error_of(response)["error"]
    assert store.stats().series == 0


async def test_a_body_over_the_limit_gets_413_before_it_is_read(
    store: EmbeddedStore, fake_clock: FakeClock, tmp_path: Path
) -> None:
    app = push_app(store, fake_clock, tmp_path, config=PushConfig(max_body_bytes=64))
    transport = httpx.ASGITransport(app=app.app)
    big = body([({**UP, "pad": "x" * 200}, [(T0, 1.0)])])
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(WRITE, content=big, headers=app.headers())

        async def chunks() -> AsyncIterator[bytes]:
            yield big[:40]
            yield big[40:]

        streamed = await client.post(WRITE, content=chunks(), headers=app.headers())
    assert response.status_code == 413
    assert "storage.push.max_body_bytes" in error_of(response)["error"]
    assert streamed.status_code == 413
    assert "at least" in error_of(streamed)["error"]
    assert store.stats().series == 0
    app.db.dispose()


async def test_a_body_that_decodes_past_the_limit_gets_413(
    store: EmbeddedStore, fake_clock: FakeClock, tmp_path: Path
) -> None:
    config = PushConfig(max_decoded_bytes=1000)
    app = push_app(store, fake_clock, tmp_path, config=config)
    rows = [({**UP, "instance": f"i{i}", "pad": "y" * 100}, [(T0, 1.0)]) for i in range(20)]
    payload = body(rows)
    assert len(payload) < 1000  # compresses well: only the decoded size is over
    transport = httpx.ASGITransport(app=app.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(WRITE, content=payload, headers=app.headers())
    assert response.status_code == 413
    assert "storage.push.max_decoded_bytes" in error_of(response)["error"]
    assert store.stats().series == 0
    app.db.dispose()


async def test_unknown_missing_and_underpowered_tokens_are_refused(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    payload = body([(UP, [(T0, 1.0)])])
    unknown = await client.post(WRITE, content=payload, headers=pushed.headers("wk_" + "x" * 43))
    missing = await client.post(WRITE, content=payload, headers={"Content-Encoding": "snappy"})
    viewer = await client.post(WRITE, content=payload, headers=pushed.headers(pushed.viewer_token))
    assert unknown.status_code == 401
    assert "unknown, expired or revoked" in unknown.text
    assert missing.status_code == 401
    assert viewer.status_code == 403
    assert "metrics:write" in viewer.text
    assert store.stats().series == 0
    admin = await client.post(WRITE, content=payload, headers=pushed.headers(pushed.admin_token))
    assert admin.status_code == 204


async def test_a_push_past_the_series_limit_is_refused_whole_and_the_next_one_works(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    rows = [({**UP, "__name__": "wide", "id": str(i)}, [(T0, float(i))]) for i in range(60)]
    rows.append((UP, [(T0, 1.0)]))
    response = await client.post(WRITE, content=body(rows), headers=pushed.headers())
    assert response.status_code == 400
    message = error_of(response)["error"]
    assert "storage.max_series_per_target = 50" in message
    assert "nothing of this push was stored" in message
    assert store.stats().series == 0
    fits = await client.post(WRITE, content=body(rows[:40]), headers=pushed.headers())
    assert fits.status_code == 204
    assert len(stored(store, "wide")) == 40


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ({"__name__": "0bad", "job": "x"}, "metric name '0bad' is invalid"),
        ({"job": "x"}, "no metric name"),
        ({"__name__": "m", "bad-label": "x"}, "label name 'bad-label'"),
    ],
)
async def test_one_bad_series_refuses_the_whole_push(
    client: httpx.AsyncClient,
    pushed: PushApp,
    store: EmbeddedStore,
    labels: dict[str, str],
    words: str,
) -> None:
    rows = [(UP, [(T0, 1.0)]), (labels, [(T0, 1.0)])]
    response = await client.post(WRITE, content=body(rows), headers=pushed.headers())
    assert response.status_code == 400
    assert words in error_of(response)["error"]
    assert store.stats().series == 0


async def test_a_label_given_twice_refuses_the_push(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    request = write_request([(UP, [(T0, 1.0)])])
    request.timeseries[0].labels.add(name="job", value="again")
    payload = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    response = await client.post(WRITE, content=payload, headers=pushed.headers())
    assert response.status_code == 400
    assert "label 'job' twice" in error_of(response)["error"]
    assert store.stats().series == 0


async def test_native_histograms_are_counted_and_the_float_samples_stored(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    response = await client.post(
        WRITE, content=body([(UP, [(T0, 1.0)])], histograms=2), headers=pushed.headers()
    )
    assert response.status_code == 400
    assert error_of(response)["data"]["histograms"] == 2
    assert stored(store, "up") == {Labels(UP): [(T0, 1.0)]}


async def test_empty_body_is_refused(client: httpx.AsyncClient, pushed: PushApp) -> None:
    response = await client.post(WRITE, content=b"", headers=pushed.headers())
    assert response.status_code == 400
    assert "empty" in error_of(response)["error"]


async def test_a_store_that_cannot_write_answers_503_with_retry_after(
    pushed: PushApp, store: EmbeddedStore
) -> None:
    store.close()
    transport = httpx.ASGITransport(app=pushed.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            WRITE, content=body([(UP, [(T0, 1.0)])]), headers=pushed.headers()
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert error_of(response)["errorType"] == "unavailable"


async def test_request_counts_by_code_are_exported(
    client: httpx.AsyncClient, pushed: PushApp
) -> None:
    await client.post(WRITE, content=body([(UP, [(T0, 1.0)])]), headers=pushed.headers())
    await client.post(WRITE, content=b"junk", headers=pushed.headers())
    reg = pushed.registry
    assert metric(reg, "watchkeeper_push_requests_total", kind="remote_write", code="204") == 1
    assert metric(reg, "watchkeeper_push_requests_total", kind="remote_write", code="400") == 1


def test_nan_values_other_than_the_staleness_marker_stay_plain_nan(
    store: EmbeddedStore, fake_clock: FakeClock, tmp_path: Path
) -> None:
    app = push_app(store, fake_clock, tmp_path)
    result = app.ingester.remote_write(body([(UP, [(T0, math.nan)])]))
    assert result.appended == 1
    (points,) = stored(store, "up").values()
    assert math.isnan(points[0][1])
    assert not is_stale_nan(points[0][1])
    app.db.dispose()


def test_series_limit_over_all_targets_is_checked_too(
    fake_clock: FakeClock, tmp_path: Path
) -> None:
    config = StorageConfig.model_validate({"max_series": 5})
    store = EmbeddedStore.memory(config, clock=fake_clock)
    app = push_app(store, fake_clock, tmp_path)
    rows = [({**UP, "instance": f"i{i}"}, [(T0, 1.0)]) for i in range(6)]
    with pytest.raises(SeriesLimitError, match=r"storage\.max_series = 5"):
        app.ingester.remote_write(body(rows))
    assert store.stats().series == 0
    app.db.dispose()
    store.close()
