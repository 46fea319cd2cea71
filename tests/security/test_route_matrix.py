"""Deny by default: the route walker, and every route x role of the sample app."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.testclient import TestClient

from watchkeeper.security.permissions import (
    ANONYMOUS_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
)
from watchkeeper.security.principal import Principal
from watchkeeper.security.setup import SecurityServices
from watchkeeper.state.db import Database
from watchkeeper.web.deps import public, require, route_guards, unguarded_routes

# Web behaviour that does not depend on the database engine runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("state_db", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_sample_app_has_no_unguarded_route(app: FastAPI) -> None:
    assert unguarded_routes(app) == []


@SQLITE_ONLY
def test_walker_reports_a_route_without_a_permission(app: FastAPI) -> None:
    @app.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    (found,) = unguarded_routes(app)
    assert found.path == "/forgotten"
    assert found.methods == {"GET"}
    assert str(found) == "GET /forgotten (forgotten)"


def test_walker_sees_permissions_in_parameters_routers_and_app_dependencies() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter(dependencies=[Depends(require(Permission.ALERTS_READ))])

    @router.get("/by-router")
    def by_router() -> None:
        return None

    @app.get("/by-parameter")
    def by_parameter(
        _: Annotated[Principal, Depends(require(Permission.SILENCES_WRITE))],
    ) -> None:
        return None

    @app.get("/public", dependencies=[Depends(public("health check for load balancers"))])
    def open_route() -> None:
        return None

    app.include_router(router)
    guards = {g.path: g for g in route_guards(app)}
    assert guards["/by-router"].permissions == {Permission.ALERTS_READ}
    assert guards["/by-parameter"].permissions == {Permission.SILENCES_WRITE}
    assert guards["/public"].public_reason == "health check for load balancers"
    assert unguarded_routes(app) == []


def test_walker_looks_into_mounted_apps_and_reports_opaque_mounts(tmp_path: object) -> None:
    app = FastAPI(openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    inner = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @inner.get("/api/v2/alerts")
    def alerts() -> None:
        return None

    app.mount("/alertmanager", inner)
    app.mount("/static", StaticFiles(directory=str(tmp_path)), name="static")
    paths = {g.path for g in unguarded_routes(app)}
    assert paths == {"/openapi.json", "/alertmanager/api/v2/alerts", "/static"}
    assert {g.path for g in unguarded_routes(app, allow=["/static", "/openapi.json"])} == {
        "/alertmanager/api/v2/alerts"
    }


def test_public_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        public(" ")


def test_every_route_and_role_is_allowed_exactly_when_the_role_has_the_permission(
    client: TestClient,
    app: FastAPI,
    sec: SecurityServices,
    state_db: Database,
    admin_actor: Principal,
) -> None:
    """The matrix the full app's test repeats: for each guarded sample route and each role
    (plus the anonymous visitor), the status is 2xx when the role holds the permission,
    403 when a logged-in role lacks it and 401 for an anonymous visitor."""
    tokens: dict[Role | None, dict[str, str]] = {None: {}}
    with state_db.begin() as conn:
        for role in Role:
            plaintext, _ = sec.tokens.create(conn, admin_actor, f"matrix-{role}", role)
            tokens[role] = {"Authorization": f"Bearer {plaintext}"}
    checked = 0
    for guard in route_guards(app):
        if not guard.path.startswith("/sample/"):
            continue
        (permission,) = guard.permissions
        (method,) = guard.methods
        for role, headers in tokens.items():
            granted = ANONYMOUS_PERMISSIONS if role is None else ROLE_PERMISSIONS[role]
            status = client.request(method, guard.path, headers=headers).status_code
            expected = 200 if permission in granted else (401 if role is None else 403)
            assert status == expected, f"{role} {method} {guard.path}"
            checked += 1
    assert checked == len(Permission) * 2 * 4


def test_scoped_ingest_token_reaches_only_the_ingest_route(
    client: TestClient, sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, _ = sec.tokens.create(
            conn, admin_actor, "ingest", Role.ADMIN, scopes=frozenset({Permission.METRICS_WRITE})
        )
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.post("/sample/metrics:write", headers=headers).status_code == 200
    assert client.get("/sample/metrics:read", headers=headers).status_code == 403
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_role_table_grows_strictly_from_viewer_to_admin() -> None:
    viewer, operator, admin = (ROLE_PERMISSIONS[r] for r in Role)
    assert viewer < operator < admin
    assert admin == frozenset(Permission)
    assert all(p.value.endswith(":read") for p in viewer)
    assert {Permission.STATUS_READ} == ANONYMOUS_PERMISSIONS
    for permission in Permission:
        resource, _, action = permission.value.partition(":")
        assert resource
        assert action
