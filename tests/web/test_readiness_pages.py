"""The readiness pages: a clear empty state before any run, then the latest report by
category with evidence and remediation, the history of runs, one run, and on a service's
page the results that name it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from watchkeeper.readiness.model import Category, CheckResult, Detail, Report, Status
from watchkeeper.readiness.store import ReadinessStore, Trigger
from watchkeeper.runtime.app import Runtime
from watchkeeper.web.app import create_app
from watchkeeper.web.pages_readiness import names_service

from .conftest import make_full_runtime, role_tokens

module_loop = pytest.mark.asyncio(loop_scope="module")


def report(at: float, *, failing: bool) -> Report:
    coverage = CheckResult(
        id="alerting.coverage",
        category=Category.ALERTING,
        title="Every service has alert rules",
        status=Status.FAIL if failing else Status.PASS,
        evidence="1 of 2 services has no alert rule",
        remediation="Enable a rule pack on the frontend",
        duration=0.01,
        details=(
            Detail("backend", Status.PASS, "3 alert rules"),
            Detail("frontend", Status.FAIL, "no alert rule watches its series"),
        ),
    )
    targets = CheckResult(
        id="monitoring.targets",
        category=Category.MONITORING,
        title="Every target answers",
        status=Status.WARN,
        evidence="one target is slow",
        remediation="Raise the timeout of backend/health",
        duration=0.2,
        details=(Detail("backend/health", Status.WARN, "answered in 4.1 s"),),
    )
    return Report(started_at=at, finished_at=at + 2, results=(coverage, targets), config="w.yml")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    rt = make_full_runtime(tmp_path_factory.mktemp("readiness"))
    token = role_tokens(rt)["viewer"]
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)),
        base_url="http://t",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        yield rt, client
    finally:
        await client.aclose()
        rt.store.close()
        rt.db.dispose()


@module_loop
async def test_before_any_run_the_pages_say_how_to_start_one(
    setup: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = setup
    page = await client.get("/readiness")
    assert page.status_code == 200
    assert 'data-empty="readiness"' in page.text
    assert "watchkeeper validate" in page.text
    service = await client.get("/services/backend")
    assert "No readiness run yet" in service.text


@module_loop
async def test_latest_report_history_and_one_run(
    setup: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = setup
    store = ReadinessStore(rt.db)
    now = rt.clock.now()
    first = store.save(report(now - 3600, failing=True), Trigger.CLI)
    second = store.save(report(now - 60, failing=False), Trigger.SCHEDULE)
    page = await client.get("/readiness")
    assert f'data-run="{second}"' in page.text
    assert 'data-status="warn"' in page.text
    assert "Every service has alert rules" in page.text
    assert "Raise the timeout of backend/health" in page.text  # a warning shows its fix
    assert "Enable a rule pack" not in page.text  # a pass does not
    assert f'href="/readiness/runs/{first}"' in page.text
    assert "2 runs in all" in page.text
    old = await client.get(f"/readiness/runs/{first}")
    assert old.status_code == 200
    assert 'data-status="fail"' in old.text
    assert "Enable a rule pack on the frontend" in old.text
    missing = await client.get("/readiness/runs/99999")
    assert missing.status_code == 404
    assert "There is no readiness run 99999" in missing.text


@module_loop
async def test_service_page_shows_the_latest_results_that_name_it(
    setup: tuple[Runtime, httpx.AsyncClient],
) -> None:
    _, client = setup
    backend = await client.get("/services/backend")
    results = backend.text.split('<table id="service-readiness">')[1].split("</table>")[0]
    assert "3 alert rules" in results
    assert "answered in 4.1 s" in results
    assert "no alert rule watches" not in results  # about the frontend
    frontend = await client.get("/services/frontend")
    assert "no alert rule watches its series" in frontend.text


@pytest.mark.parametrize(
    ("subject", "service", "named"),
    [
        ("backend", "backend", True),
        ("backend/health", "backend", True),
        ("render: backend", "backend", True),
        ("backend-worker", "backend", False),
        ("frontend", "backend", False),
    ],
)
def test_a_detail_names_a_service_by_a_whole_word(subject: str, service: str, named: bool) -> None:
    assert names_service(subject, service) is named
