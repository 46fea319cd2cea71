"""Small real HTTP apps the readiness tests point checks at: a service with /health and
/metrics, a slow or failing endpoint, and security headers switched on or off."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

EXPOSITION = (
    "# TYPE http_requests_total counter\n"
    'http_requests_total{code="200"} 42\n'
    "# TYPE queue_depth gauge\n"
    "queue_depth 3\n"
)


@dataclass
class AppState:
    delay: float = 0.0  # seconds added to /slow
    status: int = 200  # what /health answers
    headers: dict[str, str] = field(default_factory=dict)  # added to every answer


def service_app(state: AppState) -> Starlette:
    def with_headers(resp: Response) -> Response:
        resp.headers.update(state.headers)
        return resp

    async def health(request: Request) -> Response:
        return with_headers(JSONResponse({"status": "ok"}, state.status))

    async def metrics(request: Request) -> Response:
        return with_headers(PlainTextResponse(EXPOSITION, media_type="text/plain; version=0.0.4"))

    async def slow(request: Request) -> Response:
        await asyncio.sleep(state.delay)
        return with_headers(JSONResponse({"ok": True}))

    async def page(request: Request) -> Response:
        return with_headers(PlainTextResponse("Insurance Navigator"))

    return Starlette(
        routes=[
            Route("/", page),
            Route("/health", health),
            Route("/metrics", metrics),
            Route("/slow", slow),
        ]
    )


def redirect_app(target: str) -> Starlette:
    async def anything(request: Request) -> Response:
        return RedirectResponse(target + request.url.path.lstrip("/"), status_code=308)

    return Starlette(routes=[Route("/{path:path}", anything)])
