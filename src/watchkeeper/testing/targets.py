"""A controllable fake target for the ``http`` and ``scrape`` collectors: a small web app
on loopback with a page, a JSON health endpoint, a quote API and a ``/metrics`` endpoint
that negotiates Prometheus text 0.0.4 or OpenMetrics like a real exporter.

The demo uses it as the simulated frontend and backend; tests use it to make a target
slow, failing, malformed or unreachable at runtime::

    target = FakeTarget(name="backend")
    with target.serve() as server:
        target.set_latency(0.3)          # every answer waits 300 ms
        target.fail_with(503)            # health and API answer 503
        target.set_error_ratio(0.2)      # 20 % of quote requests answer 500
        target.set_exposition("garbage") # /metrics serves this text verbatim
        target.heal()                    # back to normal

Requests to ``/api/quote`` (and every other route) are counted in
``http_requests_total{method,path,status}`` and ``http_request_duration_seconds``.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from watchkeeper.collect.scrape.parse import format_value
from watchkeeper.testing.server import FakeServer

OPENMETRICS_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class _State:
    latency: float = 0.0
    fail_status: int | None = None
    error_ratio: float = 0.0
    exposition: str | None = None
    exposition_content_type: str | None = None
    health_body: dict[str, object] | None = None
    page_text: str = "Welcome"
    gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)


class FakeTarget:
    """The app and its controls. Thread-safe: the server runs in another thread."""

    def __init__(self, name: str = "app", *, seed: int = 0) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._state = _State()
        self._random = random.Random(seed)
        self.app = Starlette(
            routes=[
                Route("/", self._page),
                Route("/health", self._health),
                Route("/api/quote", self._quote, methods=["GET", "POST"]),
                Route("/metrics", self._metrics),
                Route("/redirect", self._redirect),
                Route("/redirect-loop", self._redirect_loop),
                Route("/echo", self._echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ]
        )

    # ------------------------------------------------------------------ controls
    def serve(self, port: int = 0, **kwargs: str | None) -> FakeServer:
        """A :class:`FakeServer` for this target (``ssl_certfile``/``ssl_keyfile`` for
        HTTPS); use it as a context manager or call ``start()``."""
        return FakeServer(self.app, port=port, **kwargs)  # type: ignore[arg-type]

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._state.latency = max(0.0, seconds)

    def fail_with(self, status: int | None) -> None:
        """Health, page and API answer ``status`` (``None`` ends it)."""
        with self._lock:
            self._state.fail_status = status

    def set_error_ratio(self, ratio: float) -> None:
        """Share of ``/api/quote`` requests answered with 500."""
        with self._lock:
            self._state.error_ratio = min(1.0, max(0.0, ratio))

    def set_exposition(self, text: str | None, content_type: str | None = None) -> None:
        """Serve ``text`` verbatim at ``/metrics`` (``None`` goes back to generated text)."""
        with self._lock:
            self._state.exposition = text
            self._state.exposition_content_type = content_type

    def set_health(self, body: dict[str, object] | None) -> None:
        with self._lock:
            self._state.health_body = body

    def set_page_text(self, text: str) -> None:
        with self._lock:
            self._state.page_text = text

    def set_gauge(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        key = (name, tuple(sorted((labels or {}).items())))
        with self._lock:
            self._state.gauges[key] = value

    def remove_gauge(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        key = (name, tuple(sorted((labels or {}).items())))
        with self._lock:
            self._state.gauges.pop(key, None)

    def heal(self) -> None:
        """End every injected fault (latency, failures, error ratio, custom exposition)."""
        with self._lock:
            self._state.latency = 0.0
            self._state.fail_status = None
            self._state.error_ratio = 0.0
            self._state.exposition = None
            self._state.exposition_content_type = None
            self._state.health_body = None

    def request_count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(n for (_, p, _), n in self._state.requests.items() if path in (None, p))

    # ------------------------------------------------------------------ handlers
    async def _delay(self) -> None:
        with self._lock:
            latency = self._state.latency
        if latency:
            await asyncio.sleep(latency)

    def _record(self, method: str, path: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, path, str(status))
            self._state.requests[key] = self._state.requests.get(key, 0) + 1
            counts = self._state.buckets.setdefault(path, [0] * (len(LATENCY_BUCKETS) + 1))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._state.sums[path] = self._state.sums.get(path, 0.0) + seconds

    async def _respond(self, request: Request, ok: Response) -> Response:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await self._delay()
        with self._lock:
            fail = self._state.fail_status
        response = ok if fail is None else JSONResponse({"error": "injected"}, status_code=fail)
        self._record(request.method, request.url.path, response.status_code, loop.time() - t0)
        return response

    async def _page(self, request: Request) -> Response:
        with self._lock:
            text = self._state.page_text
        html = f"<!doctype html><title>{self.name}</title><h1>{text}</h1>"
        return await self._respond(request, HTMLResponse(html))

    async def _health(self, request: Request) -> Response:
        with self._lock:
            body = self._state.health_body
        body = body if body is not None else {"status": "ok", "checks": {"db": True}}
        return await self._respond(request, JSONResponse(body))

    async def _quote(self, request: Request) -> Response:
        with self._lock:
            error = self._random.random() < self._state.error_ratio
        if error:
            return await self._respond(
                request, JSONResponse({"error": "quote engine failed"}, status_code=500)
            )
        return await self._respond(request, JSONResponse({"quote": 123.45, "currency": "USD"}))

    async def _redirect(self, request: Request) -> Response:
        return RedirectResponse("/health", status_code=302)

    async def _redirect_loop(self, request: Request) -> Response:
        return RedirectResponse("/redirect-loop", status_code=302)

    async def _echo(self, request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "headers": dict(request.headers),
                "body": body.decode("utf-8", errors="replace"),
            }
        )

    async def _metrics(self, request: Request) -> Response:
        with self._lock:
            custom, custom_ct = self._state.exposition, self._state.exposition_content_type
        openmetrics = "application/openmetrics-text" in request.headers.get("accept", "")
        if custom is not None:
            ct = custom_ct or (OPENMETRICS_CT if openmetrics else TEXT_CT)
            return Response(custom, media_type=None, headers={"content-type": ct})
        text = self.render_metrics(openmetrics=openmetrics)
        ct = OPENMETRICS_CT if openmetrics else TEXT_CT
        return Response(text, media_type=None, headers={"content-type": ct})

    def render_metrics(self, *, openmetrics: bool = False) -> str:
        """The generated exposition: request counters, latency histograms, gauges."""
        lines: list[str] = []
        with self._lock:
            requests = dict(self._state.requests)
            buckets = {k: list(v) for k, v in self._state.buckets.items()}
            sums = dict(self._state.sums)
            gauges = dict(self._state.gauges)
        family = "http_requests" if openmetrics else "http_requests_total"
        lines.append(f"# HELP {family} Requests served.")
        lines.append(f"# TYPE {family} counter")
        for (method, path, status), n in sorted(requests.items()):
            lines.append(
                f'http_requests_total{{method="{method}",path="{path}",status="{status}"}} {n}'
            )
        lines.append("# HELP http_request_duration_seconds Time to answer a request.")
        lines.append("# TYPE http_request_duration_seconds histogram")
        for path, counts in sorted(buckets.items()):
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'http_request_duration_seconds_bucket{{path="{path}",le="{le}"}} {n}')
            lines.append(
                f'http_request_duration_seconds_sum{{path="{path}"}} {format_value(sums[path])}'
            )
            lines.append(f'http_request_duration_seconds_count{{path="{path}"}} {counts[-1]}')
        names = sorted({name for name, _ in gauges})
        for name in names:
            lines.append(f"# TYPE {name} gauge")
            for (gname, labels), value in sorted(gauges.items()):
                if gname != name:
                    continue
                inner = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(f"{name}{{{inner}}} {format_value(value)}")
        if openmetrics:
            lines.append("# EOF")
        return "\n".join(lines) + "\n"
