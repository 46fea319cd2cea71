"""The push endpoints, as router factories the web app mounts::

    ingester = PushIngester(store, clock=clock, config=cfg.storage.push, registry=registry,
                            window_s=float(cfg.storage.out_of_order_window))
    app.include_router(remote_write_router(ingester))   # POST /prometheus/api/v1/write
    app.include_router(text_push_router(ingester))      # POST /prometheus/api/v1/import/prometheus

Both need an API token with ``metrics:write`` (``Authorization: Bearer wk_...``); create
one narrowed to that permission with ``watchkeeper token create NAME --role admin
--scope metrics:write``.

Answers, chosen so that senders retry exactly what a retry can fix:

- ``204`` everything stored (duplicates included: a retried batch is a success);
- ``400`` refused as a whole (malformed body, bad series, series limits) or partly stored
  (samples older than the out-of-order window, native histograms), with the counts in
  ``data``; a retry would get the same answer, so senders drop the batch;
- ``401``/``403`` unknown token or no ``metrics:write``; ``413`` body over
  ``storage.push.max_body_bytes`` or ``max_decoded_bytes``; ``415`` another encoding or
  protocol (remote write 2.0, zstd, ...);
- ``503`` with ``Retry-After`` when the store cannot write: senders retry.

Error bodies use the Prometheus API envelope (``{"status": "error", "errorType": ...,
"error": "..."}``), which senders print in their logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from watchkeeper.core.errors import StorageError, UserInputError
from watchkeeper.remote.errors import PushError, PushTooLargeError, UnsupportedPushError
from watchkeeper.remote.ingest import PushIngester, PushKind, PushResult, valid_extra_labels
from watchkeeper.security.permissions import Permission
from watchkeeper.web.deps import require

log = logging.getLogger(__name__)

PREFIX = "/prometheus"
WRITE_PATH = "/api/v1/write"
IMPORT_PATH = "/api/v1/import/prometheus"
PROTOBUF = "application/x-protobuf"
REMOTE_WRITE_VERSION = "0.1.0"
_RETRY_AFTER_S = "5"
_ERROR_TYPES = {
    400: "bad_data",
    401: "unauthorized",
    403: "forbidden",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}


def _envelope(status: int, message: str, data: Mapping[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {
        "status": "error",
        "errorType": _ERROR_TYPES.get(status, "bad_data"),
        "error": message,
    }
    if data is not None:
        body["data"] = dict(data)
    headers = {"Retry-After": _RETRY_AFTER_S} if status == 503 else None
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PushTooLargeError(_too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PushTooLargeError(_too_large(size, limit, at_least=True))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "at least " if at_least else ""
    return (
        f"the body is {more}{size} bytes, more than the limit of {limit} "
        "(storage.push.max_body_bytes); send smaller batches (Prometheus: lower "
        "queue_config.max_samples_per_send) or raise the limit"
    )


def check_remote_write_headers(headers: Mapping[str, str]) -> None:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding and encoding != "snappy":
        raise UnsupportedPushError(
            f"Content-Encoding {encoding!r} is not supported; remote write 1.0 bodies are "
            "snappy block-compressed ('Content-Encoding: snappy')"
        )
    content_type = headers.get("content-type", "").strip().lower()
    base, _, params = content_type.partition(";")
    version = headers.get("x-prometheus-remote-write-version", "").strip()
    if "io.prometheus.write.v2" in params or version.startswith("2"):
        raise UnsupportedPushError(
            "remote write 2.0 is not supported; send remote write 1.0 (Prometheus: "
            "protobuf_message: prometheus.WriteRequest, the default)"
        )
    if base.strip() not in ("", PROTOBUF):
        raise UnsupportedPushError(
            f"Content-Type {base.strip()!r} is not a remote-write body; send a protobuf "
            f"WriteRequest as {PROTOBUF} (for exposition text use {PREFIX}{IMPORT_PATH})"
        )


def _text_encoding(headers: Mapping[str, str]) -> bool:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return True
    raise UnsupportedPushError(
        f"Content-Encoding {encoding!r} is not supported; send plain text or gzip"
    )


def _timestamp_ms(text: str | None) -> int | None:
    """The ``timestamp`` query argument: milliseconds since the epoch (VictoriaMetrics'
    convention); seconds (with a fraction) are accepted when the number is too small to
    be milliseconds."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise PushError(
            f"timestamp {text!r} must be a number of milliseconds since the epoch"
        ) from None
    if value != value or abs(value) > 1e17:
        raise PushError(f"timestamp {text!r} is out of range; give milliseconds since the epoch")
    return round(value * 1000) if abs(value) < 1e11 else round(value)


def _answer(ingester: PushIngester, kind: PushKind, result: PushResult) -> Response:
    if result.complete:
        ingester.refused(kind, 204)
        return Response(status_code=204)
    ingester.refused(kind, 400)
    return _envelope(400, result.message(), result.to_json())


async def _handle(ingester: PushIngester, kind: PushKind, work: Callable[[], Any]) -> Response:
    try:
        result = await work()
    except UserInputError as exc:
        ingester.refused(kind, exc.status_code)
        return _envelope(exc.status_code, str(exc))
    except StorageError as exc:
        log.error("push refused, the store cannot write: %s", exc)
        ingester.refused(kind, 503)
        return _envelope(503, f"the store cannot write now ({exc}); retry later")
    if not isinstance(result, PushResult):  # pragma: no cover - work returns a PushResult
        raise TypeError("push work must return a PushResult")
    return _answer(ingester, kind, result)


def remote_write_router(ingester: PushIngester, *, prefix: str = PREFIX) -> APIRouter:
    """``POST <prefix>/api/v1/write``: Prometheus remote write 1.0."""
    router = APIRouter(prefix=prefix, tags=["push"])
    limit = int(ingester.config.max_body_bytes)

    @router.post(
        WRITE_PATH,
        dependencies=[Depends(require(Permission.METRICS_WRITE))],
        status_code=204,
        response_class=Response,
        summary="Receive Prometheus remote write 1.0 (protobuf WriteRequest, snappy)",
        operation_id="prometheus_remote_write",
    )
    async def remote_write(request: Request) -> Response:
        async def work() -> PushResult:
            check_remote_write_headers(request.headers)
            body = await read_body(request, limit)
            if not body:
                raise PushError("the body is empty; send a snappy-compressed WriteRequest")
            return await run_in_threadpool(ingester.remote_write, body)

        response = await _handle(ingester, PushKind.REMOTE_WRITE, work)
        if response.status_code < 300:
            response.headers["X-Prometheus-Remote-Write-Version"] = REMOTE_WRITE_VERSION
        return response

    return router


def text_push_router(ingester: PushIngester, *, prefix: str = PREFIX) -> APIRouter:
    """``POST <prefix>/api/v1/import/prometheus``: exposition text with optional
    timestamps; ``?extra_label=name=value`` (repeatable) adds labels, ``?timestamp=<ms>``
    dates samples that carry none (default: now)."""
    router = APIRouter(prefix=prefix, tags=["push"])
    limit = int(ingester.config.max_body_bytes)

    @router.post(
        IMPORT_PATH,
        dependencies=[Depends(require(Permission.METRICS_WRITE))],
        status_code=204,
        response_class=Response,
        summary="Import Prometheus exposition text (optional timestamps)",
        operation_id="prometheus_import_text",
    )
    async def import_text(request: Request) -> Response:
        async def work() -> PushResult:
            gzip = _text_encoding(request.headers)
            extra = valid_extra_labels(request.query_params.getlist("extra_label"))
            at = _timestamp_ms(request.query_params.get("timestamp"))
            body = await read_body(request, limit)

            def run() -> PushResult:
                return ingester.text(
                    body,
                    content_type=request.headers.get("content-type"),
                    gzip=gzip,
                    extra_labels=extra,
                    default_timestamp_ms=at,
                )

            return await run_in_threadpool(run)

        return await _handle(ingester, PushKind.TEXT, work)

    return router
