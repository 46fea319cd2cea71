"""A bounded load against one endpoint: ``requests`` requests with at most
``concurrency`` in flight, each timed from send to the last body byte, with httpx.
Percentiles are NumPy's (linear interpolation)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from watchkeeper.core.clock import Clock

CURVE_POINTS = 101  # the latency curve kept for charts: percentiles 0, 1, ..., 100


@dataclass(frozen=True, slots=True)
class LoadSpec:
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    expected_status: tuple[int, ...] = ()
    requests: int = 100
    concurrency: int = 10
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class LoadFigures:
    requests: int
    errors: int
    seconds: float  # wall time of the whole load
    p50: float  # seconds, over every request (failed ones too)
    p95: float
    p99: float
    mean: float
    curve: tuple[float, ...]  # latency at percentiles 0..100, seconds
    first_error: str = ""

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _ok(status: int, expected: Sequence[int]) -> bool:
    return status in expected if expected else 200 <= status < 400


async def run_load(
    spec: LoadSpec, *, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
) -> LoadFigures:
    latencies: list[float] = []
    errors: list[str] = []
    remaining = spec.requests
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    content = spec.body.encode("utf-8") if spec.body is not None else None
    async with httpx.AsyncClient(
        transport=transport, limits=limits, timeout=spec.timeout, follow_redirects=False
    ) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t0 = clock.monotonic()
                try:
                    resp = await client.request(
                        spec.method, spec.url, headers=list(spec.headers), content=content
                    )
                    await resp.aread()
                    if not _ok(resp.status_code, spec.expected_status):
                        errors.append(f"HTTP {resp.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                latencies.append(max(0.0, clock.monotonic() - t0))

        started = clock.monotonic()
        await asyncio.gather(*(worker() for _ in range(min(spec.concurrency, spec.requests))))
        wall = clock.monotonic() - started
    values = np.asarray(latencies, dtype=np.float64)
    p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
    curve = tuple(float(v) for v in np.percentile(values, np.linspace(0, 100, CURVE_POINTS)))
    return LoadFigures(
        requests=len(latencies),
        errors=len(errors),
        seconds=wall,
        p50=p50,
        p95=p95,
        p99=p99,
        mean=float(values.mean()),
        curve=curve,
        first_error=errors[0] if errors else "",
    )
