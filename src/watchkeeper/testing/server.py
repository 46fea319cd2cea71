"""A real HTTP server on loopback for fakes: any ASGI app, served by uvicorn in a
background thread on a free port, with every request it received recorded.

Works from synchronous and asynchronous code alike::

    with FakeServer(app) as server:
        httpx.get(server.url + "/health")
        assert server.requests[-1].path == "/health"
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_block(size: int, host: str = "127.0.0.1", attempts: int = 50) -> int:
    """The first of ``size`` consecutive free ports (the demo needs PORT..PORT+7)."""
    for _ in range(attempts):
        base = free_port(host)
        if base + size > 65000:
            continue
        if all(_port_free(host, port) for port in range(base, base + size)):
            return base
    raise RuntimeError(f"no block of {size} free ports on {host}")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class _Recorder:
    """ASGI middleware that records each HTTP request (body included) before the app runs."""

    def __init__(self, app: ASGIApp, sink: list[RecordedRequest], lock: threading.Lock) -> None:
        self.app = app
        self.sink = sink
        self.lock = lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with self.lock:
            self.sink.append(
                RecordedRequest(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers=headers,
                    body=body,
                    received_at=arrived,
                )
            )
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class FakeServer:
    """Serve an ASGI app on ``127.0.0.1:<port>`` in a background thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("fakes listen on loopback only")
        self.host = host
        self.port = port or free_port(host)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._app = _Recorder(app, self._requests, self._lock)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.ssl_certfile = ssl_certfile  # PEM files: serve HTTPS instead of HTTP
        self.ssl_keyfile = ssl_keyfile

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def start(self, timeout: float = 10.0) -> FakeServer:
        config = uvicorn.Config(
            self._app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.run, name=f"fake-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"fake server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` holds (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reqs = self.requests
            if predicate(reqs):
                return reqs
            time.sleep(0.01)
        raise TimeoutError(
            f"condition not met within {timeout}s; got {len(self.requests)} requests"
        )
