"""The scrape collector against a real loopback exporter."""

from __future__ import annotations

import httpx
import pytest

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.scrape.config import ScrapeConfig
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.targets import TEXT_CT, FakeTarget

from .support import RecordingStore, run_check


def scrape(url: str, **fields: object) -> ScrapeConfig:
    return ScrapeConfig.model_validate(
        {"type": "scrape", "name": "metrics", "url": url + "/metrics", **fields}
    )


async def test_negotiates_openmetrics_and_stores_every_sample(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_gauge("queue_depth", 7, {"queue": "quotes"})
    status = await run_check(scrape(target_server.url), store, http_client)
    assert status.status is CheckStatus.UP, status.error
    assert status.detail["content_type"].startswith("application/openmetrics-text")
    accept = target_server.requests[-1].headers["accept"]
    assert accept.startswith("application/openmetrics-text;version=1.0.0")
    assert store.latest("queue_depth", queue="quotes", instance=target_server.url[7:]) == 7.0
    assert store.latest("up") == 1.0
    assert store.latest("scrape_samples_scraped") == 1.0


async def test_parses_text_format_when_the_target_answers_with_it(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition(
        '# TYPE jobs_total counter\njobs_total{kind="a"} 3\njobs_total{kind="b"} 4\n',
        TEXT_CT,
    )
    status = await run_check(scrape(target_server.url), store, http_client)
    assert status.status is CheckStatus.UP
    assert store.latest("jobs_total", kind="b") == 4.0
    assert store.latest("scrape_samples_scraped") == 2.0


async def test_conflicting_labels_are_exported_unless_honor_labels(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition('m{job="inner",instance="i-1",x="1"} 1\n', TEXT_CT)
    await run_check(scrape(target_server.url), store, http_client)
    labels = next(lbls for lbls, _, _ in store.samples if lbls.name == "m")
    assert labels["job"] == "backend"
    assert labels["exported_job"] == "inner"
    assert labels["exported_instance"] == "i-1"
    store.clear()
    await run_check(scrape(target_server.url, honor_labels=True), store, http_client)
    labels = next(lbls for lbls, _, _ in store.samples if lbls.name == "m")
    assert labels["job"] == "inner"
    assert labels["instance"] == "i-1"
    assert labels["service"] == "backend"
    assert "exported_job" not in labels


async def test_target_and_service_labels_are_added(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cfg = scrape(target_server.url, job="api", labels={"env": "prod"})
    await run_check(cfg, store, http_client, labels={"team": "core"})
    up = next(lbls for lbls, _, _ in store.samples if lbls.name == "up")
    assert up.to_dict() == {
        "__name__": "up",
        "service": "backend",
        "check": "metrics",
        "job": "api",
        "instance": target_server.url.removeprefix("http://"),
        "env": "prod",
        "team": "core",
    }


async def test_sample_limit_fails_the_scrape_with_a_clear_error(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition("".join(f'm{{i="{i}"}} {i}\n' for i in range(5)), TEXT_CT)
    status = await run_check(scrape(target_server.url, sample_limit=3), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.LIMIT
    assert status.error == (
        "sample_limit exceeded: the target exposed 5 samples, the limit is 3; raise "
        "sample_limit or drop series at the target"
    )
    assert store.values("m") == []
    assert store.latest("up") == 0.0
    assert store.latest("scrape_samples_scraped") == 5.0


async def test_timestamps_in_the_exposition_are_honoured_or_ignored(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition("m 1 1600000000123\n", TEXT_CT)
    await run_check(scrape(target_server.url), store, http_client)
    assert next(ts for lbls, ts, _ in store.samples if lbls.name == "m") == 1600000000123
    store.clear()
    await run_check(scrape(target_server.url, honor_timestamps=False), store, http_client)
    assert next(ts for lbls, ts, _ in store.samples if lbls.name == "m") > 1600000000123


async def test_openmetrics_timestamps_in_seconds_become_milliseconds(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition(
        "# TYPE m gauge\nm 2 1600000000.5\n# EOF\n", "application/openmetrics-text; version=1.0.0"
    )
    await run_check(scrape(target_server.url), store, http_client)
    assert next(ts for lbls, ts, _ in store.samples if lbls.name == "m") == 1600000000500


async def test_malformed_exposition_names_the_line(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition('good 1\nalso_good 2\nbad{x="1"} abc\nlater 4\n', TEXT_CT)
    status = await run_check(scrape(target_server.url), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.BAD_RESPONSE
    assert status.error is not None
    assert status.error.startswith(
        "malformed exposition text (Prometheus text format 0.0.4) at line 3: 'bad{x=\"1\"} abc'"
    )
    assert store.latest("up") == 0.0


async def test_an_exposition_that_turns_malformed_marks_its_series_stale(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    from watchkeeper.collect.scheduler import Scheduler
    from watchkeeper.core.clock import SystemClock

    from .support import scheduled

    fake_target.set_exposition("m 1\n", TEXT_CT)
    st = scheduled(scrape(target_server.url))
    scheduler = Scheduler(store, clock=SystemClock(), http=http_client)
    await scheduler.reconfigure([st])
    await scheduler.run_once(st.key)
    fake_target.set_exposition("m{ 1\n", TEXT_CT)
    status = await scheduler.run_once(st.key)
    await scheduler.stop()
    assert status.status is CheckStatus.DOWN
    assert [s.name for s in store.stale()] == ["m"]


async def test_series_churn_empties_the_label_cache_instead_of_growing_it(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from watchkeeper.collect.scheduler import Scheduler
    from watchkeeper.collect.scrape import collector as collector_mod
    from watchkeeper.core.clock import SystemClock

    from .support import scheduled

    monkeypatch.setattr(collector_mod, "SERIES_CACHE_MAX", 3)
    st = scheduled(scrape(target_server.url))
    scheduler = Scheduler(store, clock=SystemClock(), http=http_client)
    await scheduler.reconfigure([st])
    sizes = []
    for run in range(4):  # two new series each run: a request id in a label
        fake_target.set_exposition(f'req{{id="{run}a"}} {run}\nreq{{id="{run}b"}} 1\n', TEXT_CT)
        await scheduler.run_once(st.key)
        collector = scheduler._runners[st.key].collector
        assert isinstance(collector, collector_mod.ScrapeCollector)
        sizes.append(len(collector._series))
    await scheduler.stop()
    assert sizes == [2, 4, 2, 4]  # emptied before the scrape that found it over the limit
    assert store.latest("req", id="3a") == 3.0


@pytest.mark.parametrize(("status_code", "reason"), [(401, "auth"), (500, "http_status")])
async def test_error_status_codes_are_classified(
    status_code: int,
    reason: str,
    fake_target: FakeTarget,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    app = Starlette(
        routes=[Route("/metrics", lambda r: PlainTextResponse("no", status_code=status_code))]
    )
    with FakeServer(app) as server:
        status = await run_check(scrape(server.url), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason == reason
    assert status.detail == {"status_code": status_code}


async def test_basic_auth_is_sent(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cfg = scrape(target_server.url, basic_auth={"username": "u", "password": "p"})
    await run_check(cfg, store, http_client)
    assert target_server.requests[-1].headers["authorization"] == "Basic dTpw"


async def test_unreachable_target_is_down(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(scrape(f"http://127.0.0.1:{free_port()}"), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.CONNECTION
    assert store.latest("up") == 0.0


async def test_slow_target_times_out(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_exposition("m 1\n", TEXT_CT)
    fake_target.set_latency(0)

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def slow(request: object) -> PlainTextResponse:
        import asyncio

        await asyncio.sleep(1.5)
        return PlainTextResponse("m 1\n")

    with FakeServer(Starlette(routes=[Route("/metrics", slow)])) as server:
        status = await run_check(scrape(server.url), store, http_client, timeout=0.3)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.TIMEOUT
