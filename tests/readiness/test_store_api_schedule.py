"""Stored readiness runs (SQLite and PostgreSQL), the readiness API behind its
permissions, and the scheduled run that stores its report and notifies it through the
real outbox and notifier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from watchkeeper.core.clock import FakeClock, SystemClock, rfc3339
from watchkeeper.core.cron import next_run
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import NotFoundError
from watchkeeper.notify.service import NotifyService
from watchkeeper.readiness.api import build_router
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.model import Category, Report, Status
from watchkeeper.readiness.schedule import ReadinessScheduler
from watchkeeper.readiness.service import ReadinessService
from watchkeeper.readiness.store import ReadinessStore, Trigger
from watchkeeper.runtime.app import Runtime
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import system_principal
from watchkeeper.state.db import Database
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.webhook_sink import WebhookSink
from watchkeeper.web.auth import WebAuth, install_auth
from watchkeeper.web.deps import route_guards
from watchkeeper.web.errors import install_error_handlers

from .apps import AppState, service_app
from .sample import T0, sample_report
from .support import write_config


def test_runs_are_stored_newest_first_and_read_back(state_db: Database) -> None:
    store = ReadinessStore(state_db)
    assert store.latest() is None
    first = store.save(sample_report(), Trigger.CLI)
    later = replace(sample_report(), started_at=T0 + 86400, finished_at=T0 + 86410)
    second = store.save(later, Trigger.SCHEDULE)
    summary, report = store.latest() or (None, None)
    assert summary is not None
    assert report is not None
    assert summary.id == second
    assert summary.trigger is Trigger.SCHEDULE
    assert summary.status is Status.FAIL
    assert (summary.passed, summary.warned, summary.failed) == (2, 1, 1)
    assert report.results == later.results
    items, total = store.history(limit=1)
    assert total == 2
    assert [s.id for s in items] == [second]
    items, _ = store.history(limit=1, offset=1)
    assert [s.id for s in items] == [first]
    assert store.get(first)[1].started_at == T0
    with pytest.raises(NotFoundError, match="no readiness run 999"):
        store.get(999)
    assert store.prune(keep=1) == 1
    assert store.history()[1] == 1


@pytest.fixture
def app_server() -> Iterator[FakeServer]:
    with FakeServer(service_app(AppState())) as server:
        yield server


CUSTOM = (
    "  custom:\n"
    "    - {{name: health, http: {{url: '{url}/health'}}}}\n"
    "    - {{name: homepage, http: {{url: '{url}/', contains: [Welcome]}}}}\n"
)


@dataclass
class Api:
    rt: Runtime
    service: ReadinessService
    client: httpx.AsyncClient
    tokens: dict[Role, str]


@pytest.fixture
async def api(tmp_path: Path, app_server: FakeServer) -> AsyncIterator[Api]:
    loaded = write_config(tmp_path, "services: []\n", readiness=CUSTOM.format(url=app_server.url))
    rt = Runtime(loaded)
    service = ReadinessService(rt.db, lambda: rt.loaded, clock=SystemClock())
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_router(service))
    install_auth(app, WebAuth(db=rt.db, security=rt.security))
    tokens = {}
    with rt.db.begin() as conn:
        for role in (Role.VIEWER, Role.OPERATOR):
            tokens[role], _ = rt.security.tokens.create(
                conn, system_principal("test"), role.value, role
            )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(rt, service, client, tokens)
    if service.current is not None:
        await asyncio.gather(service.current, return_exceptions=True)
    await rt.stop()


def auth(api: Api, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[role]}"}


async def test_every_readiness_route_declares_its_permission(api: Api) -> None:
    guards = {
        (g.path, m): g.permissions
        for g in route_guards(api.client._transport.app)  # type: ignore[attr-defined]
        if g.path.startswith("/api/v1/readiness")
        for m in g.methods
    }
    assert guards == {
        ("/api/v1/readiness/latest", "GET"): frozenset({Permission.READINESS_READ}),
        ("/api/v1/readiness/runs", "GET"): frozenset({Permission.READINESS_READ}),
        ("/api/v1/readiness/runs/{run_id}", "GET"): frozenset({Permission.READINESS_READ}),
        ("/api/v1/readiness/runs", "POST"): frozenset({Permission.READINESS_RUN}),
    }


async def test_a_run_started_through_the_api_is_stored_and_served(api: Api) -> None:
    none = await api.client.get("/api/v1/readiness/latest", headers=auth(api, Role.VIEWER))
    assert none.status_code == 404
    assert "POST /api/v1/readiness/runs" in none.json()["error"]["message"]
    denied = await api.client.post("/api/v1/readiness/runs", headers=auth(api, Role.VIEWER))
    assert denied.status_code == 403
    anonymous = await api.client.post("/api/v1/readiness/runs")
    assert anonymous.status_code == 401
    started = await api.client.post(
        "/api/v1/readiness/runs?wait=60",
        json={"only": ["custom"]},
        headers=auth(api, Role.OPERATOR),
    )
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["exit_code"] == 1
    assert [r["id"] for r in body["report"]["results"]] == ["custom.health", "custom.homepage"]
    latest = await api.client.get("/api/v1/readiness/latest", headers=auth(api, Role.VIEWER))
    assert latest.status_code == 200
    assert latest.json()["run"]["id"] == body["run_id"]
    assert latest.json()["run"]["trigger"] == "api"
    runs = await api.client.get("/api/v1/readiness/runs", headers=auth(api, Role.VIEWER))
    assert runs.json()["total"] == 1
    one = await api.client.get(
        f"/api/v1/readiness/runs/{body['run_id']}", headers=auth(api, Role.VIEWER)
    )
    assert one.json()["report"]["summary"]["fail"] == 1
    missing = await api.client.get("/api/v1/readiness/runs/999", headers=auth(api, Role.VIEWER))
    assert missing.status_code == 404


async def test_a_second_run_while_one_is_going_conflicts(api: Api) -> None:
    api.service.start(RunOptions(only=frozenset({Category.CUSTOM})), Trigger.API)
    busy = await api.client.post("/api/v1/readiness/runs", headers=auth(api, Role.OPERATOR))
    assert busy.status_code == 409
    assert "already in progress" in busy.json()["error"]["message"]
    assert api.service.current is not None
    await api.service.current


async def test_a_bad_run_request_is_a_client_error(api: Api) -> None:
    bad = await api.client.post(
        "/api/v1/readiness/runs",
        json={"only": ["everything"]},
        headers=auth(api, Role.OPERATOR),
    )
    assert bad.status_code == 400
    assert "only" in bad.json()["error"]["message"]
    extra = await api.client.post(
        "/api/v1/readiness/runs", json={"hurry": True}, headers=auth(api, Role.OPERATOR)
    )
    assert extra.status_code == 400
    assert "hurry" in extra.json()["error"]["message"]


def test_the_next_run_is_the_next_cron_time_in_utc() -> None:
    # T0 is 2027-01-15 08:00 UTC: the next 06:00 is the following morning.
    assert rfc3339(next_run("0 6 * * *", T0)) == "2027-01-16T06:00:00.000Z"
    assert next_run("*/15 * * * *", T0) == T0 + 900


async def test_a_scheduled_run_is_stored_and_notified_through_the_outbox(
    tmp_path: Path, app_server: FakeServer, state_db: Database
) -> None:
    with WebhookSink() as sink:
        body = (
            "alerting:\n  route: {receiver: team}\n  receivers:\n"
            f"    - {{name: team, webhook_configs: [{{url: '{sink.url}/team'}}]}}\n"
        )
        readiness = CUSTOM.format(url=app_server.url) + (
            "  schedule: {enabled: true, cron: '0 6 * * *', only: [custom]}\n"
        )
        loaded = write_config(tmp_path, body, readiness=readiness)
        clock = FakeClock(T0)
        notify = NotifyService.build(state_db, loaded.config.alerting.receivers, clock=clock)
        service = ReadinessService(state_db, lambda: loaded, clock=clock)
        scheduler = ReadinessScheduler(
            service, lambda: loaded.config, clock=clock, outbox=notify.outbox
        )
        await scheduler.start()
        try:
            await clock.advance(next_run("0 6 * * *", T0) - T0 - 1)
            assert scheduler.runs == 0
            await clock.advance(2)
            for _ in range(400):
                if scheduler.runs:
                    break
                await asyncio.sleep(0.05)
        finally:
            await scheduler.stop()
        assert scheduler.runs == 1
        summary, report = ReadinessStore(state_db).latest() or (None, None)
        assert summary is not None
        assert report is not None
        assert summary.trigger is Trigger.SCHEDULE
        assert [r.id for r in report.results] == ["custom.health", "custom.homepage"]
        deliveries = notify.outbox.list_deliveries().items
        assert [(d.receiver, d.event) for d in deliveries] == [("team", NotificationEvent.REPORT)]
        assert await notify.worker.run_once() == 1
        payload = sink.wait_for(1)[0].payload
        alert = payload["alerts"][0]
        assert alert["labels"]["alertname"] == "WatchkeeperReadiness"
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"].startswith("Production readiness: FAIL")
        assert "custom.homepage" in alert["annotations"]["description"]
        await notify.stop()


async def test_only_problems_are_notified_when_so_configured(
    tmp_path: Path, app_server: FakeServer, state_db: Database
) -> None:
    readiness = (
        f"  custom: [{{name: health, http: {{url: '{app_server.url}/health'}}}}]\n"
        "  schedule: {enabled: true, notify: problems, only: [custom]}\n"
    )
    loaded = write_config(tmp_path, "services: []\n", readiness=readiness)
    notify = NotifyService.build(state_db, loaded.config.alerting.receivers, clock=SystemClock())
    service = ReadinessService(state_db, lambda: loaded, clock=SystemClock())
    scheduler = ReadinessScheduler(
        service, lambda: loaded.config, clock=SystemClock(), outbox=notify.outbox
    )
    _, report = await scheduler.run_now()
    assert isinstance(report, Report)
    assert report.status is Status.PASS
    assert notify.outbox.list_deliveries().items == []
