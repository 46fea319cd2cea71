"""Dashboard pages of SLOs, alert quality and reports.

app.include_router(slo_pages_router(rt.reports, templates))

GET  /slos                              services:read  every SLO: budget, burn, compliance
GET  /slos/{name}                       services:read  one SLO with its charts and rules
GET  /quality                           alerts:read    quality per rule; incidents to label
POST /quality/incidents/{id}/label      alerts:write   the label form (CSRF-checked)
GET  /reports                           reports:read   digests and the uptime report form
GET  /reports/digest?kind=daily         reports:read   the digest of the last day or week
GET  /reports/digests/{id}              reports:read   a digest that was sent
GET  /reports/uptime?service=&period=   reports:read   uptime / SLA report
GET  /reports/uptime.csv                reports:read   the same as CSV
GET  /reports/uptime/print              reports:read   print-ready HTML (save as PDF)
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.durations import format_duration
from watchkeeper.core.errors import UserInputError
from watchkeeper.quality.digest import DigestKind, parse_kind
from watchkeeper.quality.labels import Verdict, parse_verdict
from watchkeeper.quality.service import ReportService
from watchkeeper.quality.uptime import parse_period
from watchkeeper.security.permissions import Permission
from watchkeeper.slo.rules import slo_group
from watchkeeper.web.deps import Principal, current_principal
from watchkeeper.web.pages_base import MAX_ID, page_guard, render
from watchkeeper.web.slo_api import slo_charts

PERIODS = (("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"))


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"


def _dur(value: float | None) -> str:
    return "n/a" if value is None else format_duration(round(value))


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _period_query(period: str, start: str | None, end: str | None) -> str:
    return urlencode({k: v for k, v in (("period", period), ("start", start), ("end", end)) if v})


def slo_pages_router(reports: ReportService, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    env = templates.env
    env.filters["pct"] = _pct
    env.filters["dur"] = _dur
    env.filters["num"] = _num
    env.filters.setdefault("rfc3339", rfc3339)
    clock = reports.clock

    @router.get("/slos", dependencies=[Depends(page_guard(Permission.SERVICES_READ))])
    async def slos_page(request: Request) -> Response:
        statuses = await asyncio.to_thread(reports.slos.all, clock.now())
        return render(templates, request, "slos.html", "/slos", title="SLOs", slos=statuses)

    @router.get("/slos/{name}", dependencies=[Depends(page_guard(Permission.SERVICES_READ))])
    async def slo_page(request: Request, name: str, range: str = "86400") -> Response:
        status = await asyncio.to_thread(reports.slos.one, name, clock.now())
        if status is None:
            raise HTTPException(404, f"no SLO named {name!r}")
        cfg = reports.config
        group = slo_group(status.slo, float(cfg.global_.evaluation_interval))
        return render(
            templates,
            request,
            "slo.html",
            "/slos",
            title=f"SLO {name}",
            s=status,
            charts=slo_charts(status.slo),
            rules_yaml=yaml.safe_dump({"groups": [group]}, sort_keys=False, width=100),
            range=range,
            ranges=(
                ("3600", "1 hour"),
                ("86400", "1 day"),
                ("604800", "7 days"),
                (str(int(status.window_seconds)), "the SLO window"),
            ),
        )

    @router.get("/quality", dependencies=[Depends(page_guard(Permission.ALERTS_READ))])
    async def quality_page(
        request: Request,
        period: str = "7d",
        start: str | None = None,
        end: str | None = None,
        rule: str | None = None,
        labelled: str | None = None,
    ) -> Response:
        flashes: list[tuple[str, str]] = []
        try:
            since, until = parse_period(start, end, period, clock.now())
        except UserInputError as exc:
            flashes.append(("error", str(exc)))
            since, until = parse_period(None, None, "7d", clock.now())
        rules, total = await asyncio.to_thread(reports.quality, since, until)
        incidents = await asyncio.to_thread(reports.incidents, since, until, rule=rule or None)
        if labelled:
            flashes.append(("ok", f"Labelled incident {labelled}."))
        principal = current_principal(request)
        return render(
            templates,
            request,
            "quality.html",
            "/quality",
            title="Alert quality",
            rules=rules,
            total=total,
            incidents=incidents[:200],
            more=max(0, len(incidents) - 200),
            verdicts=[v.value for v in Verdict],
            can_label=principal.can(Permission.ALERTS_WRITE),
            period=period,
            periods=PERIODS,
            rule=rule or "",
            since=since,
            until=until,
            query=_period_query(period, start, end),
            flashes=flashes,
        )

    @router.post("/quality/incidents/{incident_id}/label")
    async def label_form(
        request: Request,
        incident_id: str,
        principal: Annotated[Principal, Depends(page_guard(Permission.ALERTS_WRITE))],
        label: Annotated[str, Form(max_length=32)],
        comment: Annotated[str, Form(max_length=2000)] = "",
        back: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        verdict = parse_verdict(label)
        remote = request.client.host if request.client else ""
        await asyncio.to_thread(
            reports.label,
            incident_id,
            verdict,
            principal=principal,
            comment=comment,
            remote_addr=remote,
        )
        query = back if back and not back.startswith(("/", "http")) else ""
        sep = "&" if query else ""
        return RedirectResponse(f"/quality?{query}{sep}labelled={incident_id}", status_code=303)

    @router.get("/reports", dependencies=[Depends(page_guard(Permission.REPORTS_READ))])
    async def reports_page(request: Request) -> Response:
        sent = await asyncio.to_thread(reports.digests.list, None, 30)
        cfg = reports.config
        return render(
            templates,
            request,
            "reports.html",
            "/reports",
            title="Reports",
            sent=sent,
            services=cfg.services,
            periods=PERIODS,
            schedules=[(k.value, getattr(cfg.reports.digests, k.value)) for k in DigestKind],
        )

    @router.get("/reports/digest", dependencies=[Depends(page_guard(Permission.REPORTS_READ))])
    async def digest_page(request: Request, kind: str = "daily") -> Response:
        built = await asyncio.to_thread(reports.digest, parse_kind(kind))
        return render(
            templates,
            request,
            "digest.html",
            "/reports",
            title=f"{built.kind.value.title()} digest",
            d=built.to_dict(),
            live=True,
        )

    @router.get(
        "/reports/digests/{digest_id}",
        dependencies=[Depends(page_guard(Permission.REPORTS_READ))],
    )
    async def stored_digest_page(
        request: Request, digest_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> Response:
        body = await asyncio.to_thread(reports.digests.get, digest_id)
        return render(
            templates,
            request,
            "digest.html",
            "/reports",
            title=f"{str(body.get('kind', '')).title()} digest",
            d=body,
            live=False,
        )

    async def _uptime(service: str, period: str | None, start: str | None, end: str | None) -> Any:
        since, until = parse_period(start, end, period, clock.now())
        return await reports.uptime_async(service, since, until)

    @router.get("/reports/uptime", dependencies=[Depends(page_guard(Permission.REPORTS_READ))])
    async def uptime_page(
        request: Request,
        service: str,
        period: str = "30d",
        start: str | None = None,
        end: str | None = None,
    ) -> Response:
        report = await _uptime(service, period, start, end)
        query = urlencode({"service": service}) + "&" + _period_query(period, start, end)
        return render(
            templates,
            request,
            "report_uptime.html",
            "/reports",
            title=f"Uptime of {report.title}",
            r=report.to_dict(),
            query=query,
            ends_now=abs(report.end - clock.now()) < 300,
            range=str(int(report.end - report.start)),
        )

    @router.get("/reports/uptime.csv", dependencies=[Depends(page_guard(Permission.REPORTS_READ))])
    async def uptime_csv(
        service: str, period: str = "30d", start: str | None = None, end: str | None = None
    ) -> Response:
        report = await _uptime(service, period, start, end)
        return PlainTextResponse(
            report.csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="uptime-{service}.csv"'},
        )

    @router.get(
        "/reports/uptime/print", dependencies=[Depends(page_guard(Permission.REPORTS_READ))]
    )
    async def uptime_print(
        request: Request,
        service: str,
        period: str = "30d",
        start: str | None = None,
        end: str | None = None,
    ) -> Response:
        report = await _uptime(service, period, start, end)
        return templates.TemplateResponse(
            request,
            "report_uptime_print.html",
            {"request": request, "r": report.to_dict(), "title": f"Uptime of {report.title}"},
        )

    return router
