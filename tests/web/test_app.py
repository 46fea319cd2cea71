"""The app's edges: deny by default, error bodies, login redirects, health and metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from watchkeeper.runtime.app import Runtime
from watchkeeper.web import app as web_app
from watchkeeper.web.app import UnguardedRouteError, create_app

from .conftest import make_runtime


async def test_api_errors_have_one_json_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/services")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert "services:read" in r.json()["error"]["message"]
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "Not Found"}}


async def test_prometheus_paths_answer_in_prometheus_envelope(client: httpx.AsyncClient) -> None:
    r = await client.get("/prometheus/api/v1/query", params={"query": "up"})
    assert r.status_code == 401
    body = r.json()
    assert body["status"] == "error"
    assert body["errorType"] == "unauthorized"


async def test_dashboard_sends_a_visitor_to_the_login_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/services/backend")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/services/backend"


async def test_anonymous_viewer_role_opens_the_dashboard_read_only(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, anonymous_role="viewer")
    try:
        app = create_app(rt)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            page = await c.get("/")
            assert page.status_code == 200
            assert 'data-service="backend"' in page.text
            api = await c.get("/api/v1/services")
            assert api.json()["items"][0]["name"] == "backend"
            assert (await c.post("/-/reload")).status_code in (401, 403)
    finally:
        rt.store.close()
        rt.db.dispose()


async def test_health_readiness_and_self_metrics_are_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["targets"] == 0  # not started
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "watchkeeper_rule_group_evaluations" in metrics.text


async def test_every_response_carries_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/services" in doc["paths"]
    assert "/prometheus/api/v1/query" in doc["paths"]


def test_a_route_without_a_permission_stops_the_app_from_starting(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = web_app.api_router

    def with_open_route(rt: Runtime) -> APIRouter:
        router = original(rt)

        @router.get("/oops")
        def oops() -> dict[str, str]:
            return {}

        return router

    monkeypatch.setattr(web_app, "api_router", with_open_route)
    with pytest.raises(UnguardedRouteError, match="/api/v1/oops"):
        create_app(runtime)
