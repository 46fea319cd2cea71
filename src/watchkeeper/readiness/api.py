"""The readiness API: the latest report, the history, one run, and starting a run.

    app.include_router(build_router(ReadinessService(rt.db, lambda: rt.loaded, clock=rt.clock)))

Routes (every one declares its permission):

    GET  /api/v1/readiness/latest        readiness:read   the newest stored report
    GET  /api/v1/readiness/runs          readiness:read   history (?limit=&offset=), newest first
    GET  /api/v1/readiness/runs/{id}     readiness:read   one run with its report
    POST /api/v1/readiness/runs          readiness:run    start a run (?wait=seconds); 202, or
                                                          201 with the report when it finished
                                                          within wait; 409 while one runs
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.core.errors import ConflictError, NotFoundError
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.model import Category, FailOn
from watchkeeper.readiness.service import ReadinessService
from watchkeeper.readiness.store import Trigger
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import MAX_ROW_ID, Principal, require

MAX_WAIT = 120.0


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    only: list[Category] = Field(default_factory=list, description="categories (default: all)")
    send_test_alerts: bool = Field(False, description="send a test notification to receivers")
    fail_on: FailOn = FailOn.FAIL


def build_router(service: ReadinessService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/readiness", tags=["readiness"])
    read = [Depends(require(Permission.READINESS_READ))]

    @router.get("/latest", dependencies=read, summary="The newest readiness report")
    async def latest() -> dict[str, Any]:
        found = await asyncio.to_thread(service.store.latest)
        if found is None:
            raise HTTPException(
                404, "no readiness run yet; start one with POST /api/v1/readiness/runs"
            )
        summary, report = found
        return {"run": summary.to_dict(), "report": report.to_dict()}

    @router.get("/runs", dependencies=read, summary="Readiness runs, newest first")
    async def runs(
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    ) -> dict[str, Any]:
        items, total = await asyncio.to_thread(service.store.history, limit=limit, offset=offset)
        return {
            "items": [s.to_dict() for s in items],
            "total": total,
            "limit": limit,
            "offset": offset,
            "running": service.busy,
        }

    @router.get("/runs/{run_id}", dependencies=read, summary="One readiness run and its report")
    async def run(run_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]) -> dict[str, Any]:
        try:
            summary, report = await asyncio.to_thread(service.store.get, run_id)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"run": summary.to_dict(), "report": report.to_dict()}

    @router.post("/runs", summary="Start a readiness run", status_code=202)
    async def start(
        http: Request,
        principal: Annotated[Principal, Depends(require(Permission.READINESS_RUN))],
        body: RunRequest | None = None,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0.0,
    ) -> JSONResponse:
        request = body or RunRequest()
        options = RunOptions(
            only=frozenset(request.only),
            send_test_alerts=request.send_test_alerts,
            fail_on=request.fail_on,
        )
        try:
            task = service.start(
                options, Trigger.API, by=principal, remote_addr=remote_addr(http.scope)
            )
        except ConflictError as exc:
            raise HTTPException(409, str(exc)) from None
        if wait > 0:
            done, _ = await asyncio.wait({task}, timeout=wait)
            if task in done:
                run_id, report = task.result()
                return JSONResponse(
                    {
                        "status": "finished",
                        "run_id": run_id,
                        "exit_code": report.exit_code(request.fail_on),
                        "report": report.to_dict(),
                    },
                    status_code=201,
                )
        return JSONResponse({"status": "running"}, status_code=202)

    return router
