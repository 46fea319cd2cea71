"""A runtime and its web app served by uvicorn on a loopback port, in a background thread
with its own event loop: for tests that need a real HTTP server (the browser tests, the
API fuzzing). ``run`` executes a coroutine on the server's loop (post an alert, read
state) and waits for its result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.server import Server
from watchkeeper.testing.server import free_port

T = TypeVar("T")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class ServedApp:
    def __init__(
        self,
        build: Callable[[], Runtime],
        port: int | None = None,
        *,
        app_state: dict[str, Any] | None = None,
        tasks: Callable[[], list[Coroutine[Any, Any, Any]]] | None = None,
    ) -> None:
        self.build = build
        self.port = port or free_port()
        self.app_state = app_state or {}
        self.tasks = tasks
        self.url = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._rt: Runtime | None = None
        self._thread = threading.Thread(target=self._main, name="served-app", daemon=True)

    @property
    def rt(self) -> Runtime:
        if self._rt is None:
            raise RuntimeError("the app is not running")
        return self._rt

    def __enter__(self) -> ServedApp:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the app did not start within {START_TIMEOUT:.0f} s")
        if self._error is not None:
            raise RuntimeError(f"the app failed to start: {self._error!r}") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError(f"the app did not stop within {STOP_TIMEOUT:.0f} s")

    def run(self, fn: Callable[[Runtime], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run ``fn(rt)`` on the server's event loop and return its result."""
        if self._loop is None:
            raise RuntimeError("the app is not running")

        async def call() -> T:
            return await fn(self.rt)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        rt = self.build()
        server = Server(rt, host="127.0.0.1", port=self.port)
        for name, value in self.app_state.items():
            setattr(server.app.state, name, value)
        serving = asyncio.create_task(server.run(until=self._stop.wait))
        background = [asyncio.create_task(c) for c in (self.tasks() if self.tasks else [])]
        try:
            for _ in range(int(START_TIMEOUT / 0.05)):
                if server.started or serving.done():
                    break
                await asyncio.sleep(0.05)
            if serving.done():
                serving.result()
                raise RuntimeError("the server stopped before it started")
            if not server.started:
                raise RuntimeError("uvicorn did not start")
            self._rt = rt
            self._ready.set()
            await serving
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
