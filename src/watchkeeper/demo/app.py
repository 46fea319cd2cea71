"""The simulated Insurance Navigator application: a frontend page and a backend API with
``/health``, ``/metrics`` and a quote endpoint. Faults are switched on and off by the
incident schedule through :class:`Faults`."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Insurance Navigator</title></head>
<body><h1>Insurance Navigator</h1><p>Compare plans and get a quote in minutes.</p>
<form action="/quote"><input name="zip" placeholder="ZIP code"><button>Get quote</button></form>
</body></html>
"""


@dataclass(slots=True)
class Faults:
    """What is broken right now. The incident schedule flips these."""

    backend_extra_latency: float = 0.0  # seconds added to every quote
    backend_error_ratio: float = 0.0  # share of quotes answered with 500
    backend_unhealthy: bool = False  # /health answers 503
    frontend_down: bool = False  # the page answers 503


class Backend:
    """The backend API (Render in production): quotes, health and Prometheus metrics."""

    def __init__(self, faults: Faults, *, seed: int = 7) -> None:
        self.faults = faults
        self.random = random.Random(seed)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route and status code",
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.quotes = Counter("quotes_issued_total", "Quotes issued", registry=self.registry)
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests in progress", registry=self.registry
        )
        self.started = time.time()
        self.app = Starlette(
            routes=[
                Route("/health", self.health),
                Route("/metrics", self.metrics),
                Route("/api/quote", self.quote, methods=["GET", "POST"]),
            ]
        )

    async def health(self, request: Request) -> Response:
        if self.faults.backend_unhealthy:
            return JSONResponse({"status": "degraded", "checks": {"database": "timeout"}}, 503)
        return JSONResponse(
            {
                "status": "ok",
                "checks": {"database": "ok"},
                "uptime_s": int(time.time() - self.started),
            }
        )

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def quote(self, request: Request) -> Response:
        started = time.perf_counter()
        self.in_flight.inc()
        try:
            await asyncio.sleep(self.random.uniform(0.01, 0.06) + self.faults.backend_extra_latency)
            if self.random.random() < self.faults.backend_error_ratio:
                code, body = 500, {"error": "upstream rating service failed"}
            else:
                premium = round(self.random.uniform(180, 640), 2)
                code, body = 200, {"plan": "silver", "monthly_premium_usd": premium}
                self.quotes.inc()
        finally:
            self.in_flight.dec()
        self.requests.labels(request.method, "/api/quote", str(code)).inc()
        self.latency.labels("/api/quote").observe(time.perf_counter() - started)
        return JSONResponse(body, code)


class Frontend:
    """The frontend (Vercel in production): one page."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.app = Starlette(routes=[Route("/", self.page)])

    async def page(self, request: Request) -> Response:
        if self.faults.frontend_down:
            return HTMLResponse("<h1>503 Service Unavailable</h1>", 503)
        return HTMLResponse(_PAGE)
