"""Faults a fake service can be told to show for a while: error statuses (500, 429 with
Retry-After, …), slow answers, answers that never come (timeouts) and malformed bodies.

Every fake in :mod:`watchkeeper.testing` has a ``faults`` attribute::

    sink.faults.fail(500, times=3)               # the next 3 requests get HTTP 500
    sink.faults.fail(429, times=5, retry_after=1)
    sink.faults.slow(0.5, seconds=2.0)            # answers take 0.5 s for the next 2 s
    sink.faults.hang(times=1)                     # the next request never gets an answer
    sink.faults.malformed(times=1)                # 200 with a body the client cannot parse
    sink.faults.clear()
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HANG_SECONDS = 30.0  # a "hung" request is answered after this long (clients time out first)


@dataclass
class Fault:
    kind: str  # "status", "slow", "hang", "malformed"
    status: int = 500
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    times: int | None = None  # remaining requests it applies to
    until: float | None = None  # monotonic deadline
    every: int = 1  # apply to every n-th request only (1 = all)
    seen: int = 0

    def active(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.times is None or self.times > 0


class FaultPlan:
    """Thread-safe list of faults; the first active one applies to a request."""

    def __init__(self, malformed_body: bytes = b"<html><body>502 Bad Gateway</body></html>"):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.malformed_body = malformed_body
        self.applied = 0

    def _add(self, fault: Fault, times: int | None, seconds: float | None) -> None:
        if times is None and seconds is None:
            times = 1
        fault.times = times
        fault.until = time.monotonic() + seconds if seconds is not None else None
        with self._lock:
            self._faults.append(fault)

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = None,
        seconds: float | None = None,
        retry_after: float | None = None,
        body: bytes | str | dict[str, Any] | None = None,
        every: int = 1,
    ) -> None:
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None:
            headers = (("retry-after", f"{retry_after:g}"),)
        raw: bytes | None
        if isinstance(body, dict):
            raw = json.dumps(body).encode()
            headers = (*headers, ("content-type", "application/json"))
        else:
            raw = body.encode() if isinstance(body, str) else body
        fault = Fault("status", status=status, body=raw, headers=headers, every=max(1, every))
        self._add(fault, times, seconds)

    def slow(self, delay: float, *, times: int | None = None, seconds: float | None = None) -> None:
        self._add(Fault("slow", delay=delay), times, seconds)

    def hang(self, *, times: int | None = None, seconds: float | None = None) -> None:
        self._add(Fault("hang", delay=HANG_SECONDS), times, seconds)

    def malformed(self, *, times: int | None = None, seconds: float | None = None) -> None:
        self._add(Fault("malformed", body=self.malformed_body), times, seconds)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self) -> Fault | None:
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if f.active(now)]
            for fault in self._faults:
                fault.seen += 1
                if fault.seen % fault.every:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                self.applied += 1
                return Fault(fault.kind, fault.status, fault.body, fault.headers, fault.delay)
        return None


async def send_response(
    send: Send, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()
) -> None:
    raw_headers = [(k.encode(), v.encode()) for k, v in headers]
    if not any(k == "content-type" for k, _ in headers):
        raw_headers.append((b"content-type", b"text/plain; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def with_faults(app: ASGIApp, plan: FaultPlan) -> ASGIApp:
    """Wrap a fake's ASGI app so that planned faults answer before the app does."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        fault = plan.take()
        if fault is None:
            await app(scope, receive, send)
            return
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await app(scope, receive, send)
            return
        if fault.kind == "hang":
            await asyncio.sleep(fault.delay)
            await send_response(send, 504, b"gateway timeout")
            return
        if fault.kind == "malformed":
            await send_response(send, 200, fault.body or b"", (("content-type", "text/html"),))
            return
        body = fault.body if fault.body is not None else _default_body(fault.status)
        await send_response(send, fault.status, body, fault.headers)

    return wrapped


def _default_body(status: int) -> bytes:
    if status == 429:
        return b"Too Many Requests"
    if status >= 500:
        return b"Internal Server Error"
    return b"Bad Request"


class FakeService:
    """Base of the fakes: a Starlette app behind the fault plan, served on loopback, with
    a lock-protected list of what was accepted. Subclasses build ``routes()``."""

    malformed_body = b"<html><body>502 Bad Gateway</body></html>"

    def __init__(self, *, port: int = 0) -> None:
        from starlette.applications import Starlette

        from watchkeeper.testing.server import FakeServer

        self.faults = FaultPlan(self.malformed_body)
        self.lock = threading.Lock()
        self.app = Starlette(routes=self.routes())
        self.server = FakeServer(with_faults(self.app, self.faults), port=port)

    def routes(self) -> list[Any]:
        return []

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Any:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Any:
        await self.server.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.__aexit__(*exc)
