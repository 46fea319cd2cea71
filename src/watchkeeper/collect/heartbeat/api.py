"""The ping endpoint: ``GET|POST /api/v1/heartbeat/<token>`` (and ``.../fail``,
``.../start``). The token in the URL is the credential; it is looked up by digest and
confirmed in constant time (:class:`~watchkeeper.collect.heartbeat.book.HeartbeatBook`),
and it never appears in a response or a log line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from watchkeeper.collect.heartbeat.book import HeartbeatBook, PingKind
from watchkeeper.core.clock import Clock, rfc3339

PREFIX = "/api/v1/heartbeat"


def heartbeat_router(
    book: HeartbeatBook, clock: Clock, *, dependencies: Sequence[Any] = ()
) -> APIRouter:
    """Routes to mount on the app. ``dependencies`` carries the web layer's guard, e.g.
    ``[Depends(public("the token in the URL is the credential"))]``."""
    router = APIRouter(prefix=PREFIX, dependencies=list(dependencies), tags=["heartbeat"])

    def ping(token: str, kind: PingKind) -> JSONResponse:
        now = clock.now()
        key = book.ping(token, now, kind)
        if key is None:
            return JSONResponse(
                {
                    "error": {
                        "code": "not_found",
                        "message": "unknown heartbeat token; check the ping URL",
                    }
                },
                status_code=404,
            )
        return JSONResponse({"status": "ok", "check": key, "kind": kind.value, "at": rfc3339(now)})

    @router.api_route("/{token}", methods=["GET", "POST", "HEAD"], summary="Report success")
    async def success(token: str) -> JSONResponse:
        return ping(token, PingKind.SUCCESS)

    @router.api_route("/{token}/fail", methods=["GET", "POST"], summary="Report a failure")
    async def fail(token: str) -> JSONResponse:
        return ping(token, PingKind.FAIL)

    @router.api_route("/{token}/start", methods=["GET", "POST"], summary="Report a start")
    async def start(token: str) -> JSONResponse:
        return ping(token, PingKind.START)

    return router
