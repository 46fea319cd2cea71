"""Text push: the exposition format with optional timestamps, as VictoriaMetrics takes it."""

from __future__ import annotations

import gzip

import httpx
import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import PushApp, error_of, metric

IMPORT = "/prometheus/api/v1/import/prometheus"
T0 = 1_700_000_000_000


def points(store: EmbeddedStore, name: str) -> dict[Labels, list[tuple[int, float]]]:
    return {
        d.labels: list(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
        for d in store.select([Matcher.equal("__name__", name)], 0, 2**62)
    }


def auth(pushed: PushApp, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {pushed.writer_token}", **extra}


async def test_lines_with_timestamps_keep_them_and_lines_without_get_now(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore, fake_clock: FakeClock
) -> None:
    text = (
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        'backup_last_success_timestamp_seconds{job="backup"} 1.7e9 1699999990000\n'
        'backup_size_bytes{job="backup"} 12345\n'
    )
    response = await client.post(IMPORT, content=text, headers=auth(pushed))
    assert response.status_code == 204, response.text
    now = int(fake_clock.now() * 1000)
    stamped = points(store, "backup_last_success_timestamp_seconds")
    assert stamped == {
        Labels({"__name__": "backup_last_success_timestamp_seconds", "job": "backup"}): [
            (1_699_999_990_000, 1.7e9)
        ]
    }
    assert list(points(store, "backup_size_bytes").values()) == [[(now, 12345.0)]]
    assert metric(pushed.registry, "watchkeeper_push_samples_appended_total", kind="text") == 2


async def test_extra_labels_and_a_default_timestamp_come_from_the_query(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    response = await client.post(
        IMPORT + f"?extra_label=job=cron&extra_label=instance=db1&timestamp={T0}",
        content='jobs_done{job="ignored"} 3\n',
        headers=auth(pushed),
    )
    assert response.status_code == 204, response.text
    assert points(store, "jobs_done") == {
        Labels({"__name__": "jobs_done", "job": "cron", "instance": "db1"}): [(T0, 3.0)]
    }


async def test_gzip_bodies_are_accepted(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    payload = gzip.compress(f"queue_depth 7 {T0}\n".encode())
    response = await client.post(
        IMPORT, content=payload, headers=auth(pushed, **{"Content-Encoding": "gzip"})
    )
    assert response.status_code == 204, response.text
    assert list(points(store, "queue_depth").values()) == [[(T0, 7.0)]]


async def test_openmetrics_by_content_type_reads_timestamps_in_seconds(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    text = "# TYPE temp gauge\ntemp 21.5 1700000000.25\n# EOF\n"
    headers = auth(pushed, **{"Content-Type": "application/openmetrics-text; version=1.0.0"})
    response = await client.post(IMPORT, content=text, headers=headers)
    assert response.status_code == 204, response.text
    assert list(points(store, "temp").values()) == [[(1_700_000_000_250, 21.5)]]


async def test_a_malformed_line_refuses_the_whole_push_naming_the_line(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    text = f"good 1 {T0}\nbad{{x=}} 2\n"
    response = await client.post(IMPORT, content=text, headers=auth(pushed))
    assert response.status_code == 400
    message = error_of(response)["error"]
    assert "at line 2" in message
    assert "nothing was stored" in message
    assert store.stats().series == 0


@pytest.mark.parametrize(
    ("query", "headers", "code", "words"),
    [
        ("?extra_label=nolabel", {}, 400, "extra_label 'nolabel'"),
        ("?timestamp=soon", {}, 400, "timestamp 'soon'"),
        ("", {"Content-Encoding": "br"}, 415, "Content-Encoding 'br'"),
        ("", {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
    ],
)
async def test_bad_query_arguments_and_encodings_are_client_errors(
    client: httpx.AsyncClient,
    pushed: PushApp,
    store: EmbeddedStore,
    query: str,
    headers: dict[str, str],
    code: int,
    words: str,
) -> None:
    response = await client.post(IMPORT + query, content="m 1\n", headers=auth(pushed, **headers))
    assert response.status_code == code
    assert words in error_of(response)["error"]
    assert store.stats().series == 0


async def test_text_push_needs_the_write_permission(
    client: httpx.AsyncClient, pushed: PushApp, store: EmbeddedStore
) -> None:
    anonymous = await client.post(IMPORT, content="m 1\n")
    viewer = await client.post(
        IMPORT, content="m 1\n", headers={"Authorization": f"Bearer {pushed.viewer_token}"}
    )
    assert anonymous.status_code == 401
    assert viewer.status_code == 403
    assert store.stats().series == 0
