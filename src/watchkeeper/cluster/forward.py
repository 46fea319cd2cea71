"""Requests a follower passes to the leader.

Alert management lives in the leader's memory (loaded from the state database when it was
elected) and is changed only there, so on a follower:

- every state-changing request (``POST``, ``PUT``, ``PATCH``, ``DELETE``) goes to the
  leader — silences, acknowledgements, alerts posted to ``/alertmanager/api/v2/alerts``,
  pushed metrics, heartbeat pings, logins, ... — except this instance's own
  ``/-/reload`` and the samples its peers send it;
- reads whose handlers hold the leader's live objects go there too: the Alertmanager v2
  API and Watchkeeper's alert-management API (``/alertmanager/``, ``/api/v1/alerts``,
  ``/api/v1/silences``, ...), heartbeat pings sent with ``GET``, and the rule views of the
  Prometheus API (``/prometheus/api/v1/rules`` and ``/alerts``: only the leader evaluates).

Everything else — the dashboard pages, the status page, services and checks, PromQL
queries on the local copy of every series — is answered by the instance itself from the
state database and its own store.

The request goes to the leader's advertised URL with its headers (the session cookie or
API token authenticates it there as it would here) plus ``X-Watchkeeper-Forwarded-By``;
an instance never forwards a request that was forwarded to it. Without a reachable
leader (an election in progress) the answer is ``503`` with ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import httpx

from watchkeeper.cluster.replicate import SAMPLES_PATH

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FORWARDED_HEADER = "x-watchkeeper-forwarded-by"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL_WRITES = frozenset({"/-/reload", SAMPLES_PATH})
LEADER_PREFIXES = (
    "/alertmanager/",
    "/api/v1/alerts",
    "/api/v1/silences",
    "/api/v1/maintenance-windows",
    "/api/v1/escalation-policies",
    "/api/v1/oncall",
    "/api/v1/heartbeat/",
    "/prometheus/api/v1/rules",
    "/prometheus/api/v1/alerts",
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
MAX_BODY = 64 * 1024**2


def goes_to_leader(method: str, path: str) -> bool:
    """Whether a follower passes this request to the leader (see the module docstring)."""
    if method.upper() not in SAFE_METHODS:
        return path not in LOCAL_WRITES
    return any(path == p.rstrip("/") or path.startswith(p) for p in LEADER_PREFIXES)


class LeaderDirectory(Protocol):
    """Who leads, as the cluster node knows it."""

    @property
    def is_leader(self) -> bool: ...

    @property
    def member_id(self) -> str: ...

    def leader_url(self) -> tuple[str, str] | None:
        """(leader id, base URL) of the live leader, ``None`` while there is none."""


class LeaderForwarding:
    """ASGI middleware: on a follower, pass leader-owned requests to the leader."""

    def __init__(
        self,
        app: ASGIApp,
        directory: Callable[[], LeaderDirectory | None],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.app = app
        self.directory = directory
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        node = self.directory() if scope["type"] == "http" else None
        if node is None or node.is_leader or not goes_to_leader(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1").lower(), v) for k, v in scope.get("headers", [])]
        if any(k == FORWARDED_HEADER for k, _ in headers):
            await _reply(send, 503, "this instance is not the leader (any more); retry shortly")
            return
        leader = node.leader_url()
        if leader is None:
            await _reply(send, 503, "no leader is elected right now; retry in a few seconds")
            return
        leader_id, base = leader
        body = await _read(receive)
        if body is None:
            await _reply(send, 413, f"request body over {MAX_BODY} bytes")
            return
        path = scope.get("raw_path") or scope["path"].encode()
        url = base.rstrip("/") + path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        out_headers = [(k, v.decode("latin-1")) for k, v in headers if k not in HOP_BY_HOP]
        out_headers.append((FORWARDED_HEADER, node.member_id))
        request = self._client.build_request(
            scope["method"], url, headers=out_headers, content=body
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning(
                "could not forward %s %s to the leader %s: %s", *_what(scope, leader_id, exc)
            )
            await _reply(
                send, 503, f"the leader {leader_id} cannot be reached ({type(exc).__name__}); retry"
            )
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers.multi_items()
                        if k.lower() not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _what(scope: Scope, leader_id: str, exc: Exception) -> tuple[str, str, str, str]:
    return scope["method"], scope["path"], leader_id, str(exc) or type(exc).__name__


async def _read(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


async def _reply(send: Send, status: int, detail: str) -> None:
    headers = [(b"content-type", b"application/json")]
    if status == 503:
        headers.append((b"retry-after", b"2"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})
