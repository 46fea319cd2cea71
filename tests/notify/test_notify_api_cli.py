"""The notification API (permissions, receivers with health, test sends, deliveries) and
``watchkeeper notify test``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry

from watchkeeper.cli.main import _register, cli
from watchkeeper.core.clock import SystemClock
from watchkeeper.notify.api import build_router
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.security.permissions import ROLE_PERMISSIONS, Role
from watchkeeper.state.db import Database
from watchkeeper.testing.webhook_sink import WebhookSink
from watchkeeper.web.deps import Principal, PrincipalKind

from .support import receiver


def app_for(service: NotifyService, role: Role | None) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def principal(request: Request, call_next):  # type: ignore[no-untyped-def]
        if role is not None:
            request.state.principal = Principal(
                "ana", PrincipalKind.USER, role, ROLE_PERMISSIONS[role]
            )
        return await call_next(request)

    app.include_router(build_router(service, external_url="http://wk.example"))
    return app


@pytest.fixture
async def service(sqlite_db: Database, sink: WebhookSink) -> AsyncIterator[NotifyService]:
    svc = NotifyService.build(
        sqlite_db,
        [
            receiver("team", webhook_configs=[{"url": sink.url_for("team")}]),
            receiver("empty"),
        ],
        clock=SystemClock(),
        settings=NotifySettings.model_validate({"backoff_initial": 0.05, "poll_interval": 0.1}),
        registry=CollectorRegistry(),
    )
    await svc.start()
    yield svc
    await svc.stop(grace=1.0)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_operator_sends_a_test_and_sees_it_delivered(
    service: NotifyService, sink: WebhookSink
) -> None:
    async with client(app_for(service, Role.OPERATOR)) as c:
        r = await c.post("/api/v1/receivers/team/test", params={"wait": 10})
        assert r.status_code == 202
        body = r.json()
        assert body["queued"] == 1
        [delivery] = body["deliveries"]
        assert delivery["status"] == "delivered"
        assert delivery["is_test"] is True
        [got] = sink.deliveries()
        assert got.is_test
        assert "requested by ana" in got.alerts[0]["annotations"]["description"]

        listed = (await c.get("/api/v1/deliveries", params={"test": True})).json()
        assert [d["id"] for d in listed["items"]] == [delivery["id"]]
        one = (await c.get(f"/api/v1/deliveries/{delivery['id']}")).json()
        assert one["attempt_log"][0]["outcome"] == "delivered"
        attempts = (await c.get("/api/v1/delivery-attempts", params={"receiver": "team"})).json()
        assert attempts["items"][0]["status_code"] == 200

        receivers = (await c.get("/api/v1/receivers")).json()["receivers"]
        team = next(r for r in receivers if r["name"] == "team")
        [integration] = team["integrations"]
        assert integration["health"]["status"] == "healthy"
        assert integration["target"].startswith("POST http://127.0.0.1:")
        assert "/team" not in integration["target"]


async def test_viewer_may_read_but_not_send_tests(service: NotifyService) -> None:
    async with client(app_for(service, Role.VIEWER)) as c:
        assert (await c.get("/api/v1/receivers")).status_code == 200
        r = await c.post("/api/v1/receivers/team/test")
        assert r.status_code == 403
        assert "notifications:test" in r.json()["detail"]


async def test_anonymous_is_asked_to_log_in(service: NotifyService) -> None:
    async with client(app_for(service, None)) as c:
        assert (await c.get("/api/v1/deliveries")).status_code == 401


async def test_client_mistakes_get_4xx_with_what_to_fix(service: NotifyService) -> None:
    async with client(app_for(service, Role.ADMIN)) as c:
        missing = await c.post("/api/v1/receivers/nope/test")
        assert missing.status_code == 404
        assert "nope" in missing.json()["detail"]
        empty = await c.post("/api/v1/receivers/empty/test")
        assert empty.status_code == 409
        assert (await c.get("/api/v1/deliveries", params={"limit": 0})).status_code == 422
        assert (await c.get("/api/v1/deliveries", params={"status": "bogus"})).status_code == 422
        assert (await c.get("/api/v1/deliveries/999999")).status_code == 404


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(
        "alerting:\n"
        "  route: {receiver: team}\n"
        "  receivers:\n"
        "    - name: team\n"
        f"      webhook_configs: [{{url: '{url}'}}]\n",
        encoding="utf-8",
    )
    return path


def run_cli(*args: str) -> tuple[int, str]:
    _register()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_notify_test_command_prints_where_it_went_and_the_answer(
    tmp_path: Path, sink: WebhookSink
) -> None:
    path = write_config(tmp_path, sink.url_for("hooks/t0ken"))
    code, out = run_cli("notify", "test", "--config", str(path), "team")
    assert code == 0, out
    assert "webhook[0] → POST http://127.0.0.1:" in out
    assert "delivered after 1 attempt(s)" in out
    assert "200 OK" in out
    assert "t0ken" not in out
    assert sink.deliveries()[0].is_test


def test_notify_test_command_reports_a_refusal_and_exits_1(
    tmp_path: Path, sink: WebhookSink
) -> None:
    sink.faults.fail(403, times=5)
    path = write_config(tmp_path, sink.url_for("x"))
    code, out = run_cli("notify", "test", "--config", str(path), "team")
    assert code == 1
    assert "failed after 1 attempt(s)" in out
    assert "HTTP 403" in out


def test_notify_test_with_a_bad_config_exits_2_with_the_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("alerting:\n  receivers:\n    - name: team\n      bogus: 1\n", "utf-8")
    code, out = run_cli("notify", "test", "--config", str(path), "team")
    assert code == 2
    assert "bad.yaml:4" in out
    assert "Traceback" not in out


def test_notify_test_for_an_unknown_receiver_exits_2(tmp_path: Path, sink: WebhookSink) -> None:
    path = write_config(tmp_path, sink.url_for("x"))
    code, out = run_cli("notify", "test", "--config", str(path), "other")
    assert code == 2
    assert "receiver 'other' is not defined" in out
