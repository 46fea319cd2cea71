"""Readiness pages: the latest report (by category, with evidence and remediation), the
history of runs, and one run; and the results that concern one service, for its page.

Reports are read from the state database (:class:`~watchkeeper.readiness.store.ReadinessStore`);
runs are started by ``watchkeeper validate``, the daily schedule, the readiness API or the
page's "Run now" (``POST /readiness/run``, for operators and admins: it starts a run through
the runtime's readiness service, audited, and redirects back; the report appears when the
run finishes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.core.errors import ConflictError, NotFoundError
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.model import CheckResult, Detail, Report, Status
from watchkeeper.readiness.store import ReadinessStore, RunSummary, Trigger
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal
from watchkeeper.web.pages_base import (
    MAX_ID,
    can,
    install_filters,
    page_guard,
    render,
    see_other,
)

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

HISTORY_ROWS = 30
# Module level: with postponed annotations FastAPI resolves this name in the globals.
Runner = Annotated[Principal, Depends(page_guard(Permission.READINESS_RUN))]
_SPLIT = re.compile(r"[\s/:,()=]+")


@dataclass(frozen=True, slots=True)
class ServiceResult:
    """One check's result as it concerns one service (the details naming it)."""

    result: CheckResult
    details: list[Detail]

    @property
    def status(self) -> Status:
        statuses = [d.status for d in self.details]
        return max(statuses, key=_severity) if statuses else self.result.status


def _severity(status: Status) -> int:
    return {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.ERROR: 3, Status.FAIL: 4}[status]


def names_service(subject: str, service: str) -> bool:
    """Whether a detail's subject (``backend``, ``backend/health``, ``render:backend``)
    names the service."""
    return service in _SPLIT.split(subject)


def service_results(report: Report, service: str) -> list[ServiceResult]:
    out = []
    for result in report.results:
        details = [d for d in result.details if names_service(d.subject, service)]
        if details:
            out.append(ServiceResult(result, details))
    out.sort(key=lambda r: -_severity(r.status))
    return out


def latest_for_service(
    store: ReadinessStore, service: str
) -> tuple[RunSummary, list[ServiceResult]] | None:
    found = store.latest()
    if found is None:
        return None
    summary, report = found
    return summary, service_results(report, service)


def readiness_pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)
    store = ReadinessStore(rt.db)
    read = [Depends(page_guard(Permission.READINESS_READ))]

    @router.get("/readiness", dependencies=read)
    def readiness(request: Request, offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Response:
        latest = store.latest()
        runs, total = store.history(limit=HISTORY_ROWS, offset=offset)
        return render(
            templates,
            request,
            "readiness.html",
            "/readiness",
            title="Readiness",
            run=latest[0] if latest else None,
            report=latest[1] if latest else None,
            runs=runs,
            total=total,
            offset=offset,
            page_size=HISTORY_ROWS,
            latest_page=True,
            can_run=can(request, Permission.READINESS_RUN),
            running=rt.readiness.running,
        )

    @router.post("/readiness/run")
    async def run_now(request: Request, principal: Runner) -> Response:
        try:
            rt.readiness.start(
                RunOptions(),
                Trigger.DASHBOARD,
                by=principal,
                remote_addr=remote_addr(request.scope),
            )
        except ConflictError:
            return see_other("/readiness", "readiness-busy")
        return see_other("/readiness", "readiness-started")

    @router.get("/readiness/runs/{run_id}", dependencies=read)
    def readiness_run(request: Request, run_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
        try:
            summary, report = store.get(run_id)
        except NotFoundError:
            return render(
                templates,
                request,
                "not_found.html",
                "/readiness",
                status_code=404,
                title="Run not found",
                what=f"readiness run {run_id}",
                back=("/readiness", "readiness"),
            )
        return render(
            templates,
            request,
            "readiness.html",
            "/readiness",
            title=f"Readiness run {run_id}",
            run=summary,
            report=report,
            runs=[],
            total=0,
            offset=0,
            page_size=HISTORY_ROWS,
            latest_page=False,
            can_run=False,
            running=False,
        )

    return router
