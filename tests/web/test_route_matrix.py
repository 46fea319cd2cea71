"""The route × role matrix over the whole app: for every route the security package's
``route_guards`` lists and every caller (anonymous, and an API token of each role), exactly
the callers whose permissions include the route's permission get past authorization;
everyone else is denied (401/403, or a redirect to the login page for a dashboard page).
Deny by default: a route that declares nothing does not exist."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from watchkeeper.runtime.app import Runtime
from watchkeeper.security.permissions import ANONYMOUS_PERMISSIONS, ROLE_PERMISSIONS, Role
from watchkeeper.web.app import UNGUARDED_OK, create_app
from watchkeeper.web.deps import RouteGuard, route_guards, unguarded_routes

from .conftest import ROLES, make_full_runtime, role_tokens

CALLERS = ("anonymous", *ROLES)
PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
# A body no route accepts as it is (unknown field, missing required ones), so that no
# request of the matrix changes anything once past authorization.
PROBE_BODY = {"__matrix_probe__": True}


@dataclass
class App:
    rt: Runtime
    app: FastAPI
    tokens: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def full(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    rt = make_full_runtime(tmp_path_factory.mktemp("matrix"))
    try:
        yield App(rt, create_app(rt), role_tokens(rt))
    finally:
        rt.store.close()
        rt.db.dispose()


def permissions_of(caller: str) -> frozenset[object]:
    if caller == "anonymous":
        return frozenset(ANONYMOUS_PERMISSIONS)
    return frozenset(ROLE_PERMISSIONS[Role(caller)])


def allowed(guard: RouteGuard, caller: str) -> bool:
    if guard.public_reason is not None and not guard.permissions:
        return True
    return guard.permissions <= permissions_of(caller)


def concrete(path: str) -> str:
    """A request path for a route template: every parameter becomes ``0``."""
    return PARAM.sub("0", path)


def denied(response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and location.startswith("/login?next=")


async def call(
    client: httpx.AsyncClient, method: str, path: str, token: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method in ("POST", "PUT", "PATCH"):
        return await client.request(method, path, headers=headers, json=PROBE_BODY)
    return await client.request(method, path, headers=headers)


async def login_post(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    """POST /login with the form's own CSRF token (its check is not authorization)."""
    form = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if csrf is None:
        raise AssertionError("the login form has no CSRF token")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/login",
        data={"csrf_token": csrf.group(1), "username": "", "password": ""},
        headers=headers,
    )


def guarded_routes(app: FastAPI) -> Iterator[tuple[RouteGuard, str]]:
    for guard in route_guards(app):
        if guard.path in UNGUARDED_OK:
            continue
        for method in sorted(guard.methods - {"HEAD"}):
            yield guard, method


@pytest.mark.asyncio(loop_scope="module")
async def test_every_route_admits_exactly_the_roles_with_its_permission(full: App) -> None:
    transport = httpx.ASGITransport(app=full.app)
    wrong: list[str] = []
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for guard, method in guarded_routes(full.app):
            for caller in CALLERS:
                token = full.tokens.get(caller)
                if method == "POST" and guard.path == "/login":
                    response = await login_post(client, token)
                else:
                    response = await call(client, method, concrete(guard.path), token)
                client.cookies.clear()
                checked += 1
                expected = allowed(guard, caller)
                if expected == denied(response):
                    what = "denied" if expected else "let in"
                    wrong.append(
                        f"{method} {guard.path} ({sorted(p.value for p in guard.permissions)}"
                        f" {guard.public_reason or ''}): {caller} {what} with "
                        f"{response.status_code} {response.text[:120]!r}"
                    )
    assert checked > 100
    assert not wrong, "\n".join(wrong)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_matrix_covers_every_kind_of_route(full: App) -> None:
    guards = [g for g, _ in guarded_routes(full.app)]
    paths = {g.path for g in guards}
    for expected in (
        "/",
        "/alerts",
        "/admin",
        "/status",
        "/api/v1/users",
        "/prometheus/api/v1/query",
    ):
        assert expected in paths
    assert any(g.public_reason for g in guards)
    assert all(len(g.permissions) <= 1 for g in guards), "one permission per route"


def test_no_route_goes_without_a_permission_or_a_reason(tmp_path: Path) -> None:
    rt = make_full_runtime(tmp_path)
    try:
        app = create_app(rt)
        assert unguarded_routes(app, allow=UNGUARDED_OK) == []
        assert [g.path for g in route_guards(app) if not g.guarded] == sorted(UNGUARDED_OK)
    finally:
        rt.store.close()
        rt.db.dispose()


def test_each_role_can_do_everything_the_one_below_can() -> None:
    viewer, operator = permissions_of("viewer"), permissions_of("operator")
    anonymous = permissions_of("anonymous")
    assert anonymous < viewer < operator < permissions_of("admin")
