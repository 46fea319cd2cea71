"""How the scrape collector talks HTTP: a kept-alive connection of its own per target
(aiohttp), TLS settings, no redirects, the body limit, and the shared httpx client when
its owner gives one (the transport seam)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.scrape.config import ScrapeConfig
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing.exporter import KeepAliveExporter
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.targets import FakeTarget

from .support import RecordingStore, run_check, scheduled, self_signed_cert

BODY = b'# TYPE m gauge\nm{a="1"} 1\nm{a="2"} 2\n'


def scrape(url: str, **fields: object) -> ScrapeConfig:
    return ScrapeConfig.model_validate({"type": "scrape", "name": "metrics", "url": url, **fields})


@pytest.fixture
async def exporter() -> AsyncIterator[KeepAliveExporter]:
    server = KeepAliveExporter(BODY)
    yield server
    await server.stop()


async def test_every_target_keeps_one_connection_from_scrape_to_scrape(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    # More targets than a shared pool keeps idle connections for (httpx keeps 20).
    exporters = [KeepAliveExporter(BODY) for _ in range(25)]
    targets = [
        scheduled(scrape(await e.start()).model_copy(update={"name": f"t{i}"}))
        for i, e in enumerate(exporters)
    ]
    scheduler = Scheduler(store, clock=SystemClock(), http=http_client)
    await scheduler.reconfigure(targets)
    try:
        for _ in range(3):
            for st in targets:
                assert (await scheduler.run_once(st.key)).status is CheckStatus.UP
    finally:
        await scheduler.stop()
        for e in exporters:
            await e.stop()
    assert [e.requests for e in exporters] == [3] * 25
    assert [e.connections for e in exporters] == [1] * 25
    assert store.latest("m", a="2") == 2.0


async def test_an_untrusted_certificate_fails_unless_trusted_by_ca_file_or_unverified(
    tmp_path: Path, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cert, key = self_signed_cert(tmp_path, not_after=datetime.now(UTC) + timedelta(days=90))
    target = FakeTarget()
    with target.serve(ssl_certfile=cert, ssl_keyfile=key) as server:
        url = server.url + "/metrics"
        strict = await run_check(scrape(url), store, http_client)
        trusted = await run_check(scrape(url, ca_file=cert), store, http_client)
        relaxed = await run_check(scrape(url, verify_tls=False), store, http_client)
    assert strict.status is CheckStatus.DOWN
    assert strict.reason is CollectFailure.TLS
    assert strict.error is not None
    assert "TLS handshake" in strict.error
    assert (trusted.status, relaxed.status) == (CheckStatus.UP, CheckStatus.UP)


async def test_a_redirect_is_reported_not_followed(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    app = Starlette(routes=[Route("/metrics", lambda r: RedirectResponse("/elsewhere", 302))])
    with FakeServer(app) as server:
        status = await run_check(scrape(server.url + "/metrics"), store, http_client)
    assert status.reason is CollectFailure.HTTP_STATUS
    assert status.error is not None
    assert "answered HTTP 302 Found, expected 200" in status.error


async def test_a_body_over_the_limit_is_refused(
    exporter: KeepAliveExporter, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    url = await exporter.start()
    status = await run_check(scrape(url, body_size_limit=10), store, http_client)
    assert status.reason is CollectFailure.LIMIT
    assert status.error is not None
    assert "sent more than body_size_limit (10 bytes)" in status.error


async def test_a_refused_connection_says_so(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    exporter = KeepAliveExporter(BODY)
    url = await exporter.start()
    await exporter.stop()  # the port is free again: nobody listens
    status = await run_check(scrape(url), store, http_client)
    assert status.reason is CollectFailure.CONNECTION
    assert status.error is not None
    assert status.error.startswith(f"cannot connect to {url}")
    assert "is it running and reachable from Watchkeeper?" in status.error


async def test_with_client_per_target_off_scrapes_go_through_the_shared_client(
    store: RecordingStore,
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=BODY, headers={"content-type": "text/plain"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as shared:
        st = scheduled(scrape("http://exporter.test/metrics"))
        scheduler = Scheduler(store, clock=SystemClock(), http=shared, client_per_target=False)
        await scheduler.reconfigure([st])
        try:
            status = await scheduler.run_once(st.key)
        finally:
            await scheduler.stop()
    assert status.status is CheckStatus.UP
    assert seen == ["http://exporter.test/metrics"]
    assert store.latest("m", a="1") == 1.0
