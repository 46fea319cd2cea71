"""Errors at the HTTP edge: one JSON body shape for Watchkeeper's API, Prometheus' envelope
under ``/prometheus``, plain messages under ``/alertmanager`` (as Alertmanager answers),
and never a 500 for a client mistake."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from watchkeeper.core.errors import (
    ConfigError,
    QueryError,
    UserInputError,
    WatchkeeperError,
)

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return error_response_for_path(request.url.path, status, message, headers)


def error_response_for_path(
    path: str, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error body a client of ``path`` expects (middleware has no request object)."""
    if path.startswith("/prometheus/"):
        body: Any = {"status": "error", "errorType": _CODES.get(status, "error"), "error": message}
    elif path.startswith("/alertmanager/"):
        return Response(message, status_code=status, media_type="text/plain", headers=headers)
    else:
        body = {"error": {"code": _CODES.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registration
            raise exc
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(request, exc.status_code, detail, dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover
            raise exc
        return error_response(request, 400, _validation_message(exc))

    async def domain_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, UserInputError):
            return error_response(request, exc.status_code, str(exc))
        if isinstance(exc, QueryError):
            return error_response(request, exc.status_code, str(exc))
        if isinstance(exc, ConfigError):
            return error_response(request, 400, str(exc))
        log.exception("request %s %s failed", request.method, request.url.path)
        return error_response(request, 500, "internal error; see the server log")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(WatchkeeperError, domain_error)
