"""Dashboard pages: overview, service, explore, notifications (more pages plug in beside).

Pages are server-rendered with Jinja2 and refresh themselves with htmx polling; charts are
drawn by uPlot from the Prometheus-compatible query API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.core.clock import rfc3339
from watchkeeper.security.permissions import Permission
from watchkeeper.web.pages_base import page_guard, render
from watchkeeper.web.views import service_summaries, service_summary

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

RANGES = (("900", "15 minutes"), ("3600", "1 hour"), ("21600", "6 hours"), ("86400", "1 day"))


class DemoPanel(Protocol):
    """What the demo adds to the overview: its incidents and what its webhook sink got."""

    def panel(self) -> dict[str, Any]: ...


def ago(ts: float | None, now: Callable[[], float] = time.time) -> str:
    if ts is None:
        return "never"
    delta = now() - ts
    if delta < 0:
        return "in " + ago(now() + (now() - ts), now)[:-4]
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return f"{int(delta)}s ago"


def pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    env = templates.env
    env.filters["ago"] = lambda ts: ago(ts, rt.clock.now)
    env.filters["rfc3339"] = rfc3339

    @router.get("/", dependencies=[Depends(page_guard(Permission.SERVICES_READ))])
    def overview(request: Request) -> Response:
        demo: DemoPanel | None = getattr(request.app.state, "demo", None)
        firing = [a for a in rt.alerts.views.alerts() if a.firing]
        timeline = rt.history.query(
            events=[HistoryEvent.FIRING, HistoryEvent.RESOLVED, HistoryEvent.ACKNOWLEDGED],
            limit=15,
        )
        deliveries = rt.notify.log.query(limit=10).items
        return render(
            templates,
            request,
            "overview.html",
            "/",
            title="Overview",
            services=service_summaries(rt),
            firing=firing,
            timeline=timeline,
            deliveries=deliveries,
            demo=demo.panel() if demo is not None else None,
        )

    @router.get("/services/{name}", dependencies=[Depends(page_guard(Permission.SERVICES_READ))])
    def service_page(request: Request, name: str) -> Response:
        summary = service_summary(rt, name)
        if summary is None:
            raise HTTPException(404, f"no service named {name!r}")
        rules = [
            (group, rule)
            for group in rt.rules.groups
            for rule in group.rules
            if rule.config.is_alert
        ]
        return render(
            templates,
            request,
            "service.html",
            "/",
            title=summary.title,
            s=summary,
            rules=rules,
            ranges=RANGES,
            charts=_service_charts(summary.name, {c.kind for c in summary.checks}),
        )

    @router.get("/explore", dependencies=[Depends(page_guard(Permission.METRICS_READ))])
    def explore(request: Request, expr: str = "", range: str = "3600") -> Response:
        table: list[tuple[str, str]] = []
        error = ""
        if expr:
            try:
                table = [
                    (str(labels), f"{value:g}")
                    for labels, value in rt.query_vector(expr, rt.clock.now())
                ]
            except Exception as exc:
                error = str(exc)
        return render(
            templates,
            request,
            "explore.html",
            "/explore",
            title="Explore",
            expr=expr,
            table=table[:500],
            truncated=max(0, len(table) - 500),
            error=error,
            range=range,
            ranges=RANGES,
        )

    @router.get("/notifications", dependencies=[Depends(page_guard(Permission.NOTIFICATIONS_READ))])
    def notifications(request: Request, receiver: str | None = None) -> Response:
        page = rt.notify.log.query(receiver=receiver or None, limit=100)
        return render(
            templates,
            request,
            "notifications.html",
            "/notifications",
            title="Notifications",
            attempts=page.items,
            health=rt.notify.health.all(),
            receivers=rt.alerts.receiver_names,
            receiver=receiver or "",
        )

    return router


def _service_charts(name: str, kinds: set[str]) -> list[tuple[str, str]]:
    charts: list[tuple[str, str]] = []
    if "http" in kinds:
        charts.append(("Probe latency (s)", f'probe_duration_seconds{{service="{name}"}}'))
        charts.append(("Probe success", f'probe_success{{service="{name}"}}'))
    if "scrape" in kinds:
        charts.append(
            (
                "Request rate by status (req/s)",
                f'sum by (code) (rate(http_requests_total{{service="{name}"}}[1m]))',
            )
        )
        charts.append(
            (
                "p95 latency (s)",
                "histogram_quantile(0.95, sum by (le) (rate("
                f'http_request_duration_seconds_bucket{{service="{name}"}}[1m])))',
            )
        )
        charts.append(("Scrape duration (s)", f'scrape_duration_seconds{{service="{name}"}}'))
    if not charts:
        charts.append(("Up", f'up{{service="{name}"}}'))
    return charts
