"""Dashboard pages: overview, service, explore, notifications (the other pages live in
``pages_*`` modules beside this one).

Pages are server-rendered with Jinja2 and refresh themselves with htmx polling; charts are
drawn by uPlot from the Prometheus-compatible query API."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import FileResponse, Response

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.core.errors import NotFoundError, WatchkeeperError
from watchkeeper.notify.records import AttemptOutcome, ChannelHealth, HealthStatus
from watchkeeper.readiness.store import ReadinessStore
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import RuleGroup
from watchkeeper.security.permissions import Permission
from watchkeeper.web.deps import public
from watchkeeper.web.pages_base import MAX_ID, ago, install_filters, page_guard, render
from watchkeeper.web.pages_readiness import latest_for_service
from watchkeeper.web.views import service_summaries, service_summary

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

__all__ = ["RANGES", "DemoPanel", "ago", "pages_router"]

RANGES = (("900", "15 minutes"), ("3600", "1 hour"), ("21600", "6 hours"), ("86400", "1 day"))
MAX_ROWS = 500
LOG_ROWS = 100
FAVICON = pathlib.Path(__file__).parent / "static" / "favicon.svg"


class DemoPanel(Protocol):
    """What the demo adds to the overview: its incidents and what its webhook sink got."""

    def panel(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Integration:
    """One channel integration of a receiver, with its health (unknown until tried)."""

    health: ChannelHealth
    target: str


def service_rules(rt: Runtime, name: str) -> Iterator[tuple[RuleGroup, AlertingRule]]:
    """The alerting rules that watch a service: labelled with it, reading its series, or
    with an alert about it right now."""
    needle = f'service="{name}"'
    for group in rt.rules.groups:
        for rule in group.rules:
            if not isinstance(rule, AlertingRule):
                continue
            cfg = rule.config
            if (
                cfg.labels.get("service") == name
                or needle in cfg.expr.replace(" ", "")
                or any(a.labels.get("service") == name for a in rule.alerts())
            ):
                yield group, rule


def integrations(rt: Runtime) -> list[Integration]:
    known = {(h.receiver, h.channel, h.integration): h for h in rt.notify.health.all()}
    out = []
    for name, receiver in sorted(rt.notify.outbox.receivers.items()):
        for channel, index, _cfg in receiver.integrations():
            notifier = rt.notify.notifiers.get(name, channel, index)
            describe = getattr(notifier, "describe", None)
            health = known.pop(
                (name, channel, index),
                ChannelHealth(name, channel, index, HealthStatus.UNKNOWN),
            )
            out.append(Integration(health, describe() if callable(describe) else channel))
    out.extend(Integration(h, h.channel) for h in known.values())  # since removed from config
    return out


def pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)
    readiness = ReadinessStore(rt.db)

    @router.get("/favicon.ico", dependencies=[Depends(public("the site icon browsers ask for"))])
    def favicon() -> Response:
        return FileResponse(FAVICON, media_type="image/svg+xml")

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
            return render(
                templates,
                request,
                "not_found.html",
                "/",
                status_code=404,
                title="Service not found",
                what=f"service named {name!r} in the configuration",
                back=("/", "the overview"),
            )
        latest = latest_for_service(readiness, name)
        return render(
            templates,
            request,
            "service.html",
            "/",
            title=summary.title,
            s=summary,
            rules=list(service_rules(rt, name)),
            ranges=RANGES,
            charts=_service_charts(summary.name, {c.kind for c in summary.checks}),
            readiness_run=latest[0] if latest else None,
            readiness_results=latest[1] if latest else [],
        )

    @router.get("/explore", dependencies=[Depends(page_guard(Permission.METRICS_READ))])
    def explore(
        request: Request,
        expr: Annotated[str, Query(max_length=10_000)] = "",
        range: str = "3600",
    ) -> Response:
        table: list[tuple[str, str]] = []
        error = ""
        if range not in {v for v, _ in RANGES}:
            range = "3600"
        if expr.strip():
            try:
                table = [
                    (str(labels), f"{value:g}")
                    for labels, value in rt.query_vector(expr, rt.clock.now())
                ]
            except (WatchkeeperError, ValueError) as exc:
                error = str(exc)
        return render(
            templates,
            request,
            "explore.html",
            "/explore",
            status_code=400 if error else 200,
            title="Explore",
            expr=expr,
            table=table[:MAX_ROWS],
            truncated=max(0, len(table) - MAX_ROWS),
            error=error,
            range=range,
            ranges=RANGES,
        )

    @router.get("/notifications", dependencies=[Depends(page_guard(Permission.NOTIFICATIONS_READ))])
    def notifications(
        request: Request,
        receiver: str | None = None,
        outcome: str | None = None,
        before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    ) -> Response:
        wanted = AttemptOutcome(outcome) if outcome in set(AttemptOutcome) else None
        page = rt.notify.log.query(
            receiver=receiver or None, outcome=wanted, before=before, limit=LOG_ROWS
        )
        return render(
            templates,
            request,
            "notifications.html",
            "/notifications",
            title="Notifications",
            attempts=page.items,
            next_before=page.next_before,
            integrations=integrations(rt),
            depth=rt.notify.outbox.depth(),
            receivers=rt.alerts.receiver_names,
            receiver=receiver or "",
            outcomes=[o.value for o in AttemptOutcome],
            outcome=wanted.value if wanted else "",
        )

    @router.get(
        "/notifications/deliveries/{delivery_id}",
        dependencies=[Depends(page_guard(Permission.NOTIFICATIONS_READ))],
    )
    def delivery(request: Request, delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
        try:
            found = rt.notify.outbox.get(delivery_id)
        except NotFoundError:
            return render(
                templates,
                request,
                "not_found.html",
                "/notifications",
                status_code=404,
                title="Delivery not found",
                what=f"notification delivery {delivery_id}",
                back=("/notifications", "notifications"),
            )
        attempts = rt.notify.log.query(delivery_id=delivery_id, limit=LOG_ROWS).items
        fingerprints: dict[str, str] = {}
        for entry in rt.history.query(group_id=found.group_id, limit=200):
            if entry.fingerprint:
                fingerprints.setdefault(entry.fingerprint, entry.labels.get("alertname", ""))
        return render(
            templates,
            request,
            "delivery.html",
            "/notifications",
            title=f"Delivery {delivery_id}",
            d=found,
            attempts=attempts,
            alerts=sorted(fingerprints.items(), key=lambda kv: kv[1]),
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
