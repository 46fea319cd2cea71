"""A webhook receiver on loopback: records what it is sent, checks it like a careful
receiver would, and can be told to fail for a while (see :mod:`watchkeeper.testing.faults`).

Used by the tests, the demo (the dashboard lists what arrived) and the benchmarks::

    with WebhookSink() as sink:
        url = sink.url_for("alerts")           # http://127.0.0.1:PORT/alerts
        ...
        for d in sink.deliveries():
            print(d.received_at, d.status, len(d.alerts))

Checks: only ``POST`` (405), a body of at most ``max_body`` bytes (413), JSON bodies that
look like an Alertmanager payload must be version 4 with its required fields (400), a
signature when ``hmac_secret`` is set (401 when missing, wrong or older than 5 minutes),
and ``required_headers`` (401 when absent or different).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.testing.faults import FaultPlan, Receive, Scope, Send, send_response, with_faults
from watchkeeper.testing.server import FakeServer

AM_REQUIRED = (
    "version",
    "groupKey",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
)
MAX_SKEW = 300.0


@dataclass(frozen=True, slots=True)
class SinkDelivery:
    """One request the sink accepted."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    payload: Any = None  # parsed JSON, or None

    @property
    def status(self) -> str:
        return str(self.payload.get("status", "")) if isinstance(self.payload, dict) else ""

    @property
    def alerts(self) -> list[dict[str, Any]]:
        if isinstance(self.payload, dict) and isinstance(self.payload.get("alerts"), list):
            return list(self.payload["alerts"])
        return []

    @property
    def is_test(self) -> bool:
        return any(a.get("labels", {}).get("alertname") == "WatchkeeperTest" for a in self.alerts)

    def summary(self) -> dict[str, Any]:
        """A small dict for the dashboard: when, where, status, alert names."""
        names = sorted({str(a.get("labels", {}).get("alertname", "")) for a in self.alerts})
        return {
            "received_at": self.received_at,
            "path": self.path,
            "status": self.status,
            "alerts": len(self.alerts),
            "alertnames": names,
            "receiver": self.payload.get("receiver") if isinstance(self.payload, dict) else None,
        }


@dataclass
class _Stats:
    rejected: list[tuple[int, str]] = field(default_factory=list)


class WebhookSink:
    def __init__(
        self,
        *,
        port: int = 0,
        hmac_secret: str | None = None,
        signature_header: str = "X-Watchkeeper-Signature",
        timestamp_header: str = "X-Watchkeeper-Timestamp",
        required_headers: dict[str, str] | None = None,
        max_body: int = 1_000_000,
        keep: int = 10_000,
        max_skew: float | None = MAX_SKEW,
    ) -> None:
        self.max_skew = max_skew
        self.hmac_secret = hmac_secret
        self.signature_header = signature_header.lower()
        self.timestamp_header = timestamp_header.lower()
        self.required_headers = {k.lower(): v for k, v in (required_headers or {}).items()}
        self.max_body = max_body
        self.keep = keep
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._deliveries: list[SinkDelivery] = []
        self._stats = _Stats()
        self.server = FakeServer(with_faults(self._app, self.faults), port=port)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> WebhookSink:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> WebhookSink:
        await self.server.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.__aexit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    def url_for(self, path: str = "hook") -> str:
        return f"{self.server.url}/{path.lstrip('/')}"

    # -- what arrived --------------------------------------------------------------------

    def deliveries(self, path: str | None = None) -> list[SinkDelivery]:
        with self._lock:
            items = list(self._deliveries)
        return [d for d in items if path is None or d.path == "/" + path.lstrip("/")]

    @property
    def rejected(self) -> list[tuple[int, str]]:
        """(status, reason) of each request the sink refused (not counting faults)."""
        with self._lock:
            return list(self._stats.rejected)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._stats.rejected.clear()

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        self.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SinkDelivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.deliveries()
            if len(items) >= count:
                return items
            time.sleep(0.01)
        raise TimeoutError(
            f"expected {count} deliveries within {timeout}s, got {len(self.deliveries())}"
        )

    # -- the ASGI app --------------------------------------------------------------------

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, reason = self._check(scope["method"], headers, body)
        if status != 200:
            with self._lock:
                self._stats.rejected.append((status, reason))
            await send_response(send, status, reason.encode())
            return
        payload: Any = None
        if "json" in headers.get("content-type", ""):
            payload = json.loads(body)
        with self._lock:
            self._deliveries.append(
                SinkDelivery(scope["path"], headers, body, time.time(), payload)
            )
            if len(self._deliveries) > self.keep:
                del self._deliveries[: len(self._deliveries) - self.keep]
        await send_response(send, 200, b"ok")

    def _check(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        if method != "POST":
            return 405, "method not allowed: use POST"
        if len(body) > self.max_body:
            return 413, f"payload too large: {len(body)} bytes, limit {self.max_body}"
        for name, value in self.required_headers.items():
            if headers.get(name) != value:
                return 401, f"missing or wrong header {name}"
        if self.hmac_secret is not None:
            problem = self._check_signature(headers, body)
            if problem:
                return 401, problem
        if "json" in headers.get("content-type", ""):
            try:
                payload = json.loads(body)
            except ValueError:
                return 400, "body is not valid JSON"
            if isinstance(payload, dict) and "alerts" in payload and "version" in payload:
                missing = [k for k in AM_REQUIRED if k not in payload]
                if missing:
                    return 400, f"Alertmanager payload lacks {', '.join(missing)}"
                if payload["version"] != "4":
                    return 400, f"unsupported payload version {payload['version']!r}"
                if payload["status"] not in ("firing", "resolved"):
                    return 400, "status must be firing or resolved"
        return 200, ""

    def _check_signature(self, headers: dict[str, str], body: bytes) -> str:
        signature = headers.get(self.signature_header)
        stamp = headers.get(self.timestamp_header)
        if not signature or not stamp:
            return "missing signature headers"
        try:
            ts = int(stamp)
        except ValueError:
            return "bad timestamp"
        if self.max_skew is not None and abs(time.time() - ts) > self.max_skew:
            return "timestamp too old"
        secret = (self.hmac_secret or "").encode()
        expected = hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, "sha256=" + expected):
            return "signature mismatch"
        return ""
