"""The readiness page's "Run now": operators (and admins) see a form carrying the page's
CSRF token; pressing it starts a run through the runtime's readiness service (audited under
the user), redirects back with a fixed message, says so when a run is already going, and
the run appears on the page once it finishes. Viewers see no button and may not post."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from watchkeeper.readiness.store import Trigger
from watchkeeper.runtime.app import Runtime, RuntimeOptions
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.web.app import create_app

from .conftest import flash, make_full_runtime

PASSWORD = "a long enough password"
STARTED = "Readiness run started; its report appears here when it finishes."
BUSY = "A readiness run is already in progress; its report appears here when it finishes."


class GatedTransport(httpx.AsyncBaseTransport):
    """Every HTTP request a run makes waits until the test opens the gate, so a run stays
    in progress for as long as the test needs."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        return httpx.Response(503, text="unavailable")


@dataclass
class Site:
    rt: Runtime
    transport: GatedTransport
    app: httpx.ASGITransport

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.app, base_url="http://testserver")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    gated = GatedTransport()
    rt = make_full_runtime(tmp_path, RuntimeOptions(http_transport=gated))
    with rt.db.begin() as conn:
        for name, role in (("olga", Role.OPERATOR), ("vic", Role.VIEWER)):
            rt.security.users.create(conn, system_principal("tests"), name, PASSWORD, role)
    try:
        yield Site(rt, gated, httpx.ASGITransport(app=create_app(rt)))
    finally:
        gated.gate.set()
        if rt.readiness.current is not None:
            await asyncio.gather(rt.readiness.current, return_exceptions=True)
        rt.store.close()
        rt.db.dispose()


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise AssertionError("the login form has no CSRF token")
    done = await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    if done.status_code != 303:
        raise AssertionError(f"log in as {username} failed: {done.status_code}")


def run_form_token(page: httpx.Response) -> str:
    form = re.search(
        r'<form method="post" action="/readiness/run"[^>]*>\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]*)">',
        page.text,
    )
    if form is None:
        raise AssertionError("the readiness page has no Run now form")
    return form.group(1)


async def test_an_operator_runs_readiness_from_the_page_and_sees_the_run_when_it_finishes(
    site: Site,
) -> None:
    async with site.client() as client:
        await log_in(client, "olga")
        page = await client.get("/readiness")
        assert 'data-action="readiness-run"' in page.text
        token = run_form_token(page)
        assert token

        pressed = await client.post("/readiness/run", data={"csrf_token": token})
        assert pressed.status_code == 303
        assert pressed.headers["location"] == "/readiness?msg=readiness-started"
        assert site.rt.readiness.running
        running_task = site.rt.readiness.current
        landed = await client.get(pressed.headers["location"])
        assert flash(landed) == [STARTED]
        assert 'data-running="readiness"' in landed.text

        again = await client.post("/readiness/run", data={"csrf_token": token})
        assert again.headers["location"] == "/readiness?msg=readiness-busy"
        assert site.rt.readiness.current is running_task  # no second run
        assert flash(await client.get(again.headers["location"])) == [BUSY]

        site.transport.gate.set()
        assert running_task is not None
        run_id, _ = await running_task
        finished = await client.get("/readiness")
        assert f'data-run="{run_id}"' in finished.text
        assert 'data-running="readiness"' not in finished.text
        (summary,), total = site.rt.readiness.store.history()
        assert (total, summary.id, summary.trigger) == (1, run_id, Trigger.DASHBOARD)

    with site.rt.db.connect() as conn:
        runs = site.rt.security.audit.list(conn, action="readiness:run")
        assert site.rt.security.audit.verify(conn).ok
    assert [(r.actor, r.actor_kind, r.target) for r in runs] == [("olga", "user", "readiness")]
    assert runs[0].to_json()["detail"]["trigger"] == "dashboard"


async def test_run_now_needs_the_csrf_token_and_the_readiness_run_permission(
    site: Site,
) -> None:
    async with site.client() as operator:
        await log_in(operator, "olga")
        forged = await operator.post("/readiness/run", data={"csrf_token": "forged"})
        assert forged.status_code == 403
    async with site.client() as viewer:
        await log_in(viewer, "vic")
        page = await viewer.get("/readiness")
        assert page.status_code == 200
        assert 'action="/readiness/run"' not in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        refused = await viewer.post("/readiness/run", data={"csrf_token": token.group(1)})
        assert refused.status_code == 403
        assert "readiness:run" in refused.text
    async with site.client() as anonymous:
        redirected = await anonymous.post("/readiness/run")
        assert redirected.status_code == 303
        assert redirected.headers["location"].startswith("/login?next=")
    assert site.rt.readiness.current is None
    assert site.rt.readiness.store.history()[1] == 0
