"""Heartbeat checks as timelines on a fake clock, with pings through the real endpoint."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.heartbeat.api import heartbeat_router
from watchkeeper.collect.heartbeat.book import HeartbeatBook
from watchkeeper.collect.heartbeat.config import HeartbeatCheckConfig
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing.server import FakeServer

from .support import RecordingStore, scheduled

TOKEN = "0123456789abcdef0123"


class Rig:
    def __init__(self, clock: FakeClock, store: RecordingStore, http: httpx.AsyncClient) -> None:
        self.clock = clock
        self.store = store
        self.book = HeartbeatBook()
        self.scheduler = Scheduler(store, clock=clock, http=http, heartbeats=self.book)
        app = FastAPI()
        app.include_router(heartbeat_router(self.book, clock))
        self.server = FakeServer(app).start()
        self.http = http
        self.key = ""

    async def use(self, **fields: object) -> None:
        cfg = HeartbeatCheckConfig.model_validate(
            {"type": "heartbeat", "name": "nightly", "token": TOKEN, **fields}
        )
        st = scheduled(cfg, service="jobs")
        self.key = st.key
        await self.scheduler.reconfigure([st])

    async def ping(self, suffix: str = "", token: str = TOKEN) -> httpx.Response:
        return await self.http.post(f"{self.server.url}/api/v1/heartbeat/{token}{suffix}")

    async def status(self) -> CheckStatus:
        return (await self.scheduler.run_once(self.key)).status


@pytest.fixture
async def rig(
    fake_clock: FakeClock, store: RecordingStore, http_client: httpx.AsyncClient
) -> AsyncIterator[Rig]:
    r = Rig(fake_clock, store, http_client)
    yield r
    await r.scheduler.stop()
    r.server.stop()


async def test_pings_keep_the_check_up_and_a_missing_ping_marks_it_down(rig: Rig) -> None:
    await rig.use(period="1h", grace="5m")
    assert await rig.status() is CheckStatus.UP  # within the first period
    answer = await rig.ping()
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    await rig.clock.advance(3600 + 200)
    assert await rig.status() is CheckStatus.UP  # late, but within the grace
    await rig.clock.advance(200)
    status = await rig.scheduler.run_once(rig.key)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.MISSED
    assert status.error is not None
    assert status.error.endswith("expected every 1h with 5m grace")
    assert rig.store.latest("watchkeeper_heartbeat_success") == 0.0
    assert rig.store.latest("watchkeeper_heartbeat_pings_total") == 1.0
    await rig.ping()
    assert await rig.status() is CheckStatus.UP


async def test_never_pinged_check_goes_down_after_its_first_period(rig: Rig) -> None:
    await rig.use(period="10m", grace="1m")
    await rig.clock.advance(11 * 60 + 1)
    status = await rig.scheduler.run_once(rig.key)
    assert status.status is CheckStatus.DOWN
    assert status.error is not None
    assert status.error.startswith("no ping yet")


async def test_fail_ping_marks_the_check_down_until_the_next_success(rig: Rig) -> None:
    await rig.use(period="1h")
    await rig.ping("/fail")
    status = await rig.scheduler.run_once(rig.key)
    assert status.status is CheckStatus.DOWN
    assert status.error == "the job reported a failure (/fail ping)"
    await rig.clock.advance(1)
    await rig.ping()
    assert await rig.status() is CheckStatus.UP


async def test_cron_schedule_sets_the_deadline(rig: Rig) -> None:
    start = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    await rig.use(schedule="0 3 * * *", grace="30m")
    await rig.clock.advance(5 * 3600 + 15 * 60)  # 03:28:20, inside the 30 min grace
    assert await rig.status() is CheckStatus.UP
    await rig.clock.advance(180)  # 03:31:20
    assert await rig.status() is CheckStatus.DOWN
    assert rig.clock.now() > start


async def test_unknown_token_is_refused_and_not_echoed(rig: Rig) -> None:
    await rig.use(period="1h")
    answer = await rig.ping(token="f" * 20)
    assert answer.status_code == 404
    assert "f" * 20 not in answer.text
    assert rig.book.state(TOKEN) is not None
    assert rig.book.state(TOKEN).pings == 0  # type: ignore[union-attr]


async def test_reload_keeps_the_pings_and_removal_forgets_the_token(rig: Rig) -> None:
    await rig.use(period="1h")
    await rig.ping()
    await rig.use(period="2h")  # changed check: new collector, same token
    assert rig.book.state(TOKEN).pings == 1  # type: ignore[union-attr]
    await rig.scheduler.reconfigure([])
    assert rig.book.state(TOKEN) is None
    assert (await rig.ping()).status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"token": TOKEN}, "give either period (e.g. 1h) or schedule"),
        ({"token": TOKEN, "period": "1h", "schedule": "* * * * *"}, "give either period"),
        ({"token": TOKEN, "schedule": "61 * * * *"}, "is not a valid cron expression"),
        ({"token": "short", "period": "1h"}, "token must have at least 16 characters"),
    ],
)
def test_config_mistakes_are_explained(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        HeartbeatCheckConfig.model_validate({"type": "heartbeat", **fields})
