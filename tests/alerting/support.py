"""Shared test helpers for alert management: a recording outbox that deduplicates like the
real one, and a shortcut for building alerts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response

from watchkeeper.alerting.api import alerting_routers
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.labels import Labels
from watchkeeper.notify.base import NotificationMessage
from watchkeeper.security.permissions import ROLE_PERMISSIONS, Role
from watchkeeper.testing.server import free_port
from watchkeeper.web.deps import Principal, PrincipalKind


@dataclass
class RecordingOutbox:
    """Implements the Outbox protocol in memory; a (receiver, dedup key) pair is queued once."""

    messages: list[tuple[str, NotificationMessage]] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)

    def enqueue(self, receiver: str, message: NotificationMessage) -> int:
        if (receiver, message.dedup_key) in self.keys:
            return 0
        self.keys.add((receiver, message.dedup_key))
        self.messages.append((receiver, message))
        return 1

    def events(self, receiver: str | None = None) -> list[tuple[str, NotificationEvent, list[str]]]:
        """(receiver, event, sorted alertnames+status) for each queued message."""
        return [
            (r, m.event, sorted(f"{a.labels.get('alertname')}:{a.status.value}" for a in m.alerts))
            for r, m in self.messages
            if receiver is None or r == receiver
        ]

    def clear(self) -> None:
        self.messages.clear()


def alert(
    name: str,
    *,
    starts_at: float,
    ends_at: float | None = None,
    source: str = "api",
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> AlertInput:
    return AlertInput(
        labels=Labels({"alertname": name, **labels}),
        annotations=annotations or {},
        starts_at=starts_at,
        ends_at=ends_at,
        source=source,
    )


OPERATOR_TOKEN = "operator-test-token"
VIEWER_TOKEN = "viewer-test-token"


def build_app(manager: AlertManager) -> FastAPI:
    """The alerting routers behind a tiny stand-in for token auth: a fixed bearer token
    maps to an operator (or viewer) principal."""
    app = FastAPI()
    roles = {OPERATOR_TOKEN: Role.OPERATOR, VIEWER_TOKEN: Role.VIEWER}

    @app.middleware("http")
    async def token_auth(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        header = request.headers.get("authorization", "")
        role = roles.get(header.removeprefix("Bearer ").strip())
        if role is not None:
            request.state.principal = Principal(
                f"{role.value}-test", PrincipalKind.TOKEN, role, ROLE_PERMISSIONS[role]
            )
        return await call_next(request)

    for router in alerting_routers(manager):
        app.include_router(router)
    return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on loopback from the running event loop (so the alert manager and the
    HTTP server share one loop); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
