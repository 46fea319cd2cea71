"""The public status page (``/status``, no login) and its JSON (``/api/v1/status``).

What it shows, per the ``status_page`` config: the chosen services (default: all) with
their current state, a bar per day for the last 90 days with the service's availability
that day, and the current incidents (firing alerts of those services). What it never
shows: labels, annotations, URLs, check names, error texts, values, receivers.

Daily availability is the mean over a service's checks of each check's mean success
that day: ``probe_success`` for a check that has it (HTTP probes), else ``up``. It is
read from the embedded store's 1-hour rollups (they outlive raw samples: 400 days by
default), and with the PromQL engine where queries go to a remote TSDB (``query_url``)::

    avg(avg_over_time(probe_success{service="S"}[1d])
        or on(check) avg_over_time(up{service="S"}[1d]))

evaluated at the end of each day. Results are cached for a minute: the page is public.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.responses import Response

from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql.protocol import QueryEngine
from watchkeeper.tsdb.base import RollupData
from watchkeeper.web.deps import public
from watchkeeper.web.pages_base import install_filters
from watchkeeper.web.views import ServiceState, service_summaries

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

DAYS = 90
DAY_S = 86400
HOUR_MS = 3_600_000
CACHE_SECONDS = 60.0
OK_AT = 0.999  # a day at or above this availability is green
PARTIAL_AT = 0.95  # below OK_AT and at or above this: partial; below: outage

RollupReader = Callable[[Sequence[Matcher], int, int, int], list[RollupData]]


class PublicState(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    UNKNOWN = "unknown"

    @property
    def text(self) -> str:
        return _TEXTS[self]


_TEXTS = {
    PublicState.OPERATIONAL: "Operational",
    PublicState.DEGRADED: "Degraded performance",
    PublicState.OUTAGE: "Outage",
    PublicState.UNKNOWN: "No data yet",
}
_PUBLIC = {
    ServiceState.UP: PublicState.OPERATIONAL,
    ServiceState.DEGRADED: PublicState.DEGRADED,
    ServiceState.DOWN: PublicState.OUTAGE,
    ServiceState.UNKNOWN: PublicState.UNKNOWN,
}
_WORST = (PublicState.OUTAGE, PublicState.DEGRADED, PublicState.UNKNOWN, PublicState.OPERATIONAL)


@dataclass(frozen=True, slots=True)
class DayBar:
    start: float  # the UTC midnight the day starts at
    availability: float | None

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.start, tz=UTC).date().isoformat()

    @property
    def level(self) -> str:
        a = self.availability
        if a is None:
            return "nodata"
        if a >= OK_AT:
            return "ok"
        return "partial" if a >= PARTIAL_AT else "outage"

    @property
    def label(self) -> str:
        if self.availability is None:
            return f"{self.date}: no data"
        return f"{self.date}: {percent(self.availability)} available"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    title: str
    state: PublicState
    days: list[DayBar]

    @property
    def uptime(self) -> float | None:
        known = [d.availability for d in self.days if d.availability is not None]
        return sum(known) / len(known) if known else None


@dataclass(frozen=True, slots=True)
class Incident:
    service: str  # the service's title
    title: str
    severity: str
    since: float


@dataclass(frozen=True, slots=True)
class StatusPage:
    title: str
    state: PublicState
    headline: str
    services: list[ServiceStatus]
    incidents: list[Incident]
    updated_at: float


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{math.floor(value * 10000) / 100:.2f}%"


def humanize(alertname: str) -> str:
    """``BackendErrorRateHigh`` → ``Backend error rate high``: a readable incident title
    that carries nothing but the alert's name."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+", alertname)
    if not words:
        return "Incident"
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[0].upper() + text[1:]


def day_starts(now: float, days: int = DAYS) -> list[float]:
    today = math.floor(now / DAY_S) * DAY_S
    return [today - (days - 1 - i) * DAY_S for i in range(days)]


def rollup_availability(
    read: RollupReader, service: str, starts: Sequence[float]
) -> list[float | None]:
    """Daily availability from 1-hour rollups (sum and count of the 0/1 samples)."""
    first_ms = int(starts[0] * 1000)
    end_ms = int((starts[-1] + DAY_S) * 1000) - 1
    chosen: dict[Labels, RollupData] = {}
    for metric in ("probe_success", "up"):
        matchers = [Matcher.equal("__name__", metric), Matcher.equal("service", service)]
        for data in read(matchers, first_ms, end_ms, HOUR_MS):
            key = Labels({k: v for k, v in data.labels.items() if k != "__name__"})
            chosen.setdefault(key, data)  # probe_success first: it wins over up
    days = len(starts)
    means = []
    for data in chosen.values():
        index = (data.timestamps - first_ms) // (DAY_S * 1000)
        keep = (index >= 0) & (index < days)
        sums = np.bincount(index[keep], weights=data.sum[keep], minlength=days)
        counts = np.bincount(index[keep], weights=data.count[keep], minlength=days)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan))
    return _combine(means, days)


def promql_availability(
    engine: QueryEngine, service: str, starts: Sequence[float], now: float
) -> list[float | None]:
    """Daily availability with the PromQL engine, for stores without rollups."""
    expr = (
        f'avg(avg_over_time(probe_success{{service="{service}"}}[1d]) '
        f'or on(check) avg_over_time(up{{service="{service}"}}[1d]))'
    )
    ends = [min(s + DAY_S - 1, now) for s in starts]
    values: list[float | None] = []
    for end in ends:  # instant queries: the last day ends now, not at midnight
        result = engine.samples(expr, end)
        value = result[0][1] if result else None
        values.append(value if value is not None and math.isfinite(value) else None)
    return values


def _combine(means: list[Any], days: int) -> list[float | None]:
    if not means:
        return [None] * days
    stacked = np.vstack(means)
    present = ~np.isnan(stacked)
    counts = present.sum(axis=0)
    totals = np.where(present, stacked, 0.0).sum(axis=0)
    return [float(totals[i] / counts[i]) if counts[i] else None for i in range(days)]


class StatusBuilder:
    """Builds the page from the runtime; the daily bars are cached for a minute."""

    def __init__(self, rt: Runtime, clock: Clock) -> None:
        self.rt = rt
        self.clock = clock
        self._bars: dict[str, tuple[float, list[DayBar]]] = {}

    def bars(self, service: str, now: float) -> list[DayBar]:
        cached = self._bars.get(service)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        starts = day_starts(now)
        read = getattr(self.rt.store, "select_rollups", None)
        if callable(read) and not self.rt.config.storage.query_url:
            values = rollup_availability(read, service, starts)
        else:
            values = promql_availability(self.rt.engine, service, starts, now)
        bars = [DayBar(s, v) for s, v in zip(starts, values, strict=True)]
        self._bars[service] = (now, bars)
        return bars

    def build(self) -> StatusPage:
        cfg = self.rt.config.status_page
        now = self.clock.now()
        wanted = cfg.services
        summaries = [
            s for s in service_summaries(self.rt) if wanted is None or s.name in set(wanted)
        ]
        if wanted is not None:
            order = {name: i for i, name in enumerate(wanted)}
            summaries.sort(key=lambda s: order[s.name])
        services = [
            ServiceStatus(s.name, s.title, _PUBLIC[s.state], self.bars(s.name, now))
            for s in summaries
        ]
        incidents = [
            Incident(
                service=s.title,
                title=humanize(a.alert.name),
                severity=a.alert.labels.get("severity", ""),
                since=a.alert.starts_at,
            )
            for s in summaries
            for a in s.firing
        ]
        incidents.sort(key=lambda i: i.since, reverse=True)
        state = next(
            (w for w in _WORST if any(s.state is w for s in services)), PublicState.OPERATIONAL
        )
        return StatusPage(cfg.title, state, _headline(state, services), services, incidents, now)


def _headline(state: PublicState, services: list[ServiceStatus]) -> str:
    if not services:
        return "No services are listed on this page."
    if state is PublicState.OPERATIONAL:
        return "All systems operational"
    if state is PublicState.UNKNOWN:
        return "Waiting for the first checks"
    if all(s.state is PublicState.OUTAGE for s in services):
        return "Major outage"
    return "Partial outage" if state is PublicState.OUTAGE else "Degraded performance"


# --- the JSON shape, described in the OpenAPI document ---------------------------------


class StatusDayOut(BaseModel):
    date: str = Field(description="UTC day, YYYY-MM-DD")
    availability: float | None = Field(description="0..1, null without data")


class StatusServiceOut(BaseModel):
    name: str
    title: str
    status: PublicState
    uptime_90d: float | None
    days: list[StatusDayOut]


class StatusIncidentOut(BaseModel):
    service: str
    title: str
    severity: str
    since: str = Field(description="RFC 3339")


class StatusOut(BaseModel):
    title: str
    status: PublicState
    headline: str
    updated_at: str
    services: list[StatusServiceOut]
    incidents: list[StatusIncidentOut]


def status_json(page: StatusPage) -> StatusOut:
    return StatusOut(
        title=page.title,
        status=page.state,
        headline=page.headline,
        updated_at=rfc3339(page.updated_at),
        services=[
            StatusServiceOut(
                name=s.name,
                title=s.title,
                status=s.state,
                uptime_90d=s.uptime,
                days=[StatusDayOut(date=d.date, availability=d.availability) for d in s.days],
            )
            for s in page.services
        ],
        incidents=[
            StatusIncidentOut(
                service=i.service, title=i.title, severity=i.severity, since=rfc3339(i.since)
            )
            for i in page.incidents
        ],
    )


def status_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    install_filters(templates, rt.clock)
    builder = StatusBuilder(rt, rt.clock)
    guard = [Depends(public("public status page"))]
    templates.env.filters["percent"] = percent

    def enabled() -> None:
        if not rt.config.status_page.enabled:
            raise HTTPException(404, "the status page is turned off (status_page.enabled)")

    @router.get("/status", dependencies=guard, include_in_schema=False)
    def status_page(request: Request) -> Response:
        enabled()
        return templates.TemplateResponse(request, "status.html", {"page": builder.build()})

    @router.get(
        "/api/v1/status",
        dependencies=guard,
        tags=["status"],
        summary="The public status page as JSON",
        response_model=StatusOut,
    )
    def status_api() -> StatusOut:
        enabled()
        return status_json(builder.build())

    return router
