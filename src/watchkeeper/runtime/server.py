"""Serving: the runtime and the web app in one event loop, with SIGHUP to reload and
SIGTERM/SIGINT to stop gracefully.

In cluster mode the app is wrapped so that a follower passes leader-owned requests to the
leader (:mod:`watchkeeper.cluster.forward`), the instance advertises the address it serves
on (unless ``cluster.advertise_url`` says otherwise), and an instance whose leadership was
lost stops and exits with :data:`~watchkeeper.runtime.cluster.EXIT_LEADERSHIP_LOST`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from watchkeeper.cluster.forward import ASGIApp, LeaderForwarding
from watchkeeper.core.errors import ConfigError
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.cluster import EXIT_LEADERSHIP_LOST, listen_url
from watchkeeper.security.tls import uvicorn_ssl_options
from watchkeeper.web.app import create_app

log = logging.getLogger(__name__)


class Server:
    def __init__(self, rt: Runtime, *, host: str | None = None, port: int | None = None) -> None:
        self.rt = rt
        server_cfg = rt.config.server
        self.host = host or server_cfg.host
        self.port = port if port is not None else server_cfg.port
        self.app = create_app(rt)
        self.forwarding: LeaderForwarding | None = None
        served: ASGIApp = self.app
        if rt.cluster is not None:
            if rt.cluster.config.advertise_url is None:
                rt.cluster.advertise_url = listen_url(server_cfg, self.host, self.port)
            self.forwarding = LeaderForwarding(
                self.app, lambda: rt.cluster, transport=rt.options.http_transport
            )
            served = self.forwarding
        ssl = uvicorn_ssl_options(server_cfg.tls, rt.loaded.base_dir)
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(
                served,
                host=self.host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
                **ssl,
            )
        )
        self._uvicorn.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self.stopping = asyncio.Event()

    @property
    def started(self) -> bool:
        return bool(self._uvicorn.started)

    def url(self) -> str:
        scheme = "https" if self.rt.config.server.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def run(
        self,
        *,
        until: Callable[[], Awaitable[Any]] | None = None,
        before_stop: Callable[[], Any] | None = None,
    ) -> None:
        """Start everything, serve until stopped (signal, ``stop()`` or ``until``);
        ``before_stop`` runs while every component is still up."""
        await self.rt.start()
        serve = asyncio.create_task(self._uvicorn.serve(), name="uvicorn")
        self._install_signals()
        waiters = [asyncio.create_task(self.stopping.wait()), serve]
        if until is not None:
            waiters.append(asyncio.create_task(_as_task(until)))
        if self.rt.cluster is not None:
            waiters.append(asyncio.create_task(self.rt.cluster.lost_leadership.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._uvicorn.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serve
            for w in waiters:
                w.cancel()
            try:
                if before_stop is not None:
                    before_stop()
            finally:
                await self.rt.stop()
                if self.forwarding is not None:
                    await self.forwarding.aclose()
        if self.rt.cluster is not None and self.rt.cluster.lost_leadership.is_set():
            raise SystemExit(EXIT_LEADERSHIP_LOST)

    def stop(self) -> None:
        self.stopping.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        # no signal handlers outside the main thread or on platforms without them (the
        # error raised there is a RuntimeError subclass)
        with contextlib.suppress(RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload()))

    async def _reload(self) -> None:
        try:
            await self.rt.reload()
        except ConfigError as exc:
            log.error("configuration not reloaded:\n  %s", "\n  ".join(exc.problems))


async def _as_task(fn: Callable[[], Awaitable[Any]]) -> Any:
    return await fn()
