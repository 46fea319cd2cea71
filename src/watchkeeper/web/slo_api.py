"""JSON API of SLOs, anomaly rules, alert quality and reports.

    app.include_router(slo_api_router(rt.reports, rt.anomaly))

Routes (each declares its permission):

    GET    /api/v1/slos                               services:read  every SLO's status
    GET    /api/v1/slos/rules.yaml                    rules:read     the generated rule file
    GET    /api/v1/slos/{name}                        services:read  one SLO, with chart queries
    GET    /api/v1/anomaly/rules                      rules:read     anomaly rules and health
    GET    /api/v1/alert-quality                      alerts:read    per-rule quality (?period=7d
                                                                     or ?start=&end=)
    GET    /api/v1/alert-quality/incidents            alerts:read    incidents and their labels
    PUT    /api/v1/alert-quality/incidents/{id}/label alerts:write   label a resolved incident
    DELETE /api/v1/alert-quality/incidents/{id}/label alerts:write   remove its label
    GET    /api/v1/reports/digest?kind=daily          reports:read   the digest of the last period
    GET    /api/v1/reports/digests                    reports:read   digests sent, newest first
    GET    /api/v1/reports/digests/{id}               reports:read   one digest sent
    POST   /api/v1/reports/digests/{kind}/send        notifications:test  send one now
    GET    /api/v1/reports/uptime?service=&period=    reports:read   uptime/SLA (format=json|csv)
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.quality.digest import parse_kind
from watchkeeper.quality.labels import MAX_COMMENT, Verdict
from watchkeeper.quality.service import ReportService
from watchkeeper.quality.uptime import parse_period
from watchkeeper.rules.anomaly import AnomalyRunner
from watchkeeper.rules.slo import slo_rules_yaml
from watchkeeper.security.permissions import Permission
from watchkeeper.slo.config import SLOConfig
from watchkeeper.web.deps import Principal, require
from watchkeeper.web.pages_base import MAX_ID


class LabelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Verdict = Field(description="actionable, noise or duplicate")
    comment: str = Field("", max_length=MAX_COMMENT)


def slo_charts(slo: SLOConfig) -> list[tuple[str, str]]:
    """(title, PromQL) of an SLO's charts, drawn from its recorded series."""
    sel = f'slo="{slo.name}"'
    budget = f"{slo.error_budget:.12g}"
    return [
        (
            "Burn rate (1 h and 6 h windows; 1 = on budget)",
            # the window as a label, so the two series stay apart once "/" drops the name
            'label_replace({__name__=~"slo:sli_error:ratio_rate(1h|6h)", '
            f'{sel}}}, "window", "$1", "__name__", "slo:sli_error:ratio_rate(.+)") / {budget}',
        ),
        (
            "Error budget remaining (share of the window's budget)",
            f"slo:period_error_budget_remaining:ratio{{{sel}}}",
        ),
        (
            "Error ratio (5 m, 1 h, 6 h)",
            f'{{__name__=~"slo:sli_error:ratio_rate(5m|1h|6h)", {sel}}}',
        ),
        (
            "Events per 5 minutes (all, bad)",
            f'{{__name__=~"slo:sli_(total|errors):increase5m", {sel}}}',
        ),
    ]


def _remote(request: Request) -> str:
    return request.client.host if request.client else ""


def slo_api_router(reports: ReportService, anomaly: AnomalyRunner | None = None) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["slos", "alert quality", "reports"])
    services_read = [Depends(require(Permission.SERVICES_READ))]
    rules_read = [Depends(require(Permission.RULES_READ))]
    alerts_read = [Depends(require(Permission.ALERTS_READ))]
    reports_read = [Depends(require(Permission.REPORTS_READ))]
    clock = reports.clock

    @router.get("/slos", dependencies=services_read, summary="Every SLO's status")
    async def list_slos() -> dict[str, Any]:
        items = await asyncio.to_thread(reports.slos.all, clock.now())
        return {"items": [s.to_dict() for s in items], "total": len(items)}

    @router.get(
        "/slos/rules.yaml",
        dependencies=rules_read,
        summary="The SLOs' generated rules as a Prometheus rule file",
        response_class=PlainTextResponse,
    )
    async def slo_rules() -> PlainTextResponse:
        return PlainTextResponse(slo_rules_yaml(reports.config), media_type="application/yaml")

    @router.get("/slos/{name}", dependencies=services_read, summary="One SLO")
    async def get_slo(name: str) -> dict[str, Any]:
        status = await asyncio.to_thread(reports.slos.one, name, clock.now())
        if status is None:
            known = ", ".join(reports.slos.names()) or "none"
            raise HTTPException(404, f"no SLO named {name!r}; configured SLOs: {known}")
        out = status.to_dict()
        out["charts"] = [{"title": t, "query": q} for t, q in slo_charts(status.slo)]
        return out

    @router.get("/anomaly/rules", dependencies=rules_read, summary="Anomaly rules and health")
    async def anomaly_rules() -> dict[str, Any]:
        items = anomaly.rules() if anomaly is not None else []
        return {"items": items, "total": len(items)}

    @router.get("/alert-quality", dependencies=alerts_read, summary="Alert quality per rule")
    async def quality(
        period: Annotated[str | None, Query(description="e.g. 7d (default), ending at end")] = None,
        start: str | None = None,
        end: str | None = None,
    ) -> dict[str, Any]:
        since, until = parse_period(start, end, period or "7d", clock.now())
        rules, total = await asyncio.to_thread(reports.quality, since, until)
        return {
            "start": since,
            "end": until,
            "overall": total.to_dict(),
            "rules": [q.to_dict() for q in rules],
        }

    @router.get("/alert-quality/incidents", dependencies=alerts_read, summary="Incidents")
    async def incidents(
        period: str | None = None,
        start: str | None = None,
        end: str | None = None,
        rule: str | None = None,
        service: str | None = None,
        unlabelled: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        since, until = parse_period(start, end, period or "7d", clock.now())
        items = await asyncio.to_thread(
            reports.incidents, since, until, rule=rule, service=service, unlabelled=unlabelled
        )
        return {
            "items": [i.to_dict() for i in items[offset : offset + limit]],
            "total": len(items),
            "limit": limit,
            "offset": offset,
        }

    @router.put("/alert-quality/incidents/{incident_id}/label", summary="Label an incident")
    async def put_label(
        incident_id: str,
        body: LabelBody,
        request: Request,
        principal: Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))],
    ) -> dict[str, Any]:
        record = await asyncio.to_thread(
            reports.label,
            incident_id,
            body.label,
            principal=principal,
            comment=body.comment,
            remote_addr=_remote(request),
        )
        return record.to_dict()

    @router.delete(
        "/alert-quality/incidents/{incident_id}/label",
        summary="Remove an incident's label",
        status_code=204,
        response_class=Response,
    )
    async def delete_label(
        incident_id: str,
        request: Request,
        principal: Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))],
    ) -> Response:
        await asyncio.to_thread(
            reports.unlabel, incident_id, principal=principal, remote_addr=_remote(request)
        )
        return Response(status_code=204)

    @router.get("/reports/digest", dependencies=reports_read, summary="A digest, built now")
    async def digest(kind: str = "daily") -> dict[str, Any]:
        built = await asyncio.to_thread(reports.digest, parse_kind(kind))
        return built.to_dict()

    @router.get("/reports/digests", dependencies=reports_read, summary="Digests sent")
    async def digests(
        kind: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> dict[str, Any]:
        items = await asyncio.to_thread(
            reports.digests.list, parse_kind(kind) if kind else None, limit
        )
        return {"items": items, "total": len(items)}

    @router.get("/reports/digests/{digest_id}", dependencies=reports_read, summary="One digest")
    async def one_digest(
        digest_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ) -> dict[str, Any]:
        return await asyncio.to_thread(reports.digests.get, digest_id)

    @router.post("/reports/digests/{kind}/send", summary="Send the digest of the period ending now")
    async def send_digest(
        kind: str,
        request: Request,
        principal: Annotated[Principal, Depends(require(Permission.NOTIFICATIONS_TEST))],
    ) -> dict[str, Any]:
        sent = await reports.send_digest(
            parse_kind(kind), principal=principal, remote_addr=_remote(request)
        )
        if sent is None:
            raise HTTPException(409, "the digest of this period was already sent")
        return sent.to_dict()

    @router.get("/reports/uptime", dependencies=reports_read, summary="Uptime / SLA report")
    async def uptime(
        service: str,
        period: str | None = None,
        start: str | None = None,
        end: str | None = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        since, until = parse_period(start, end, period, clock.now())
        report = await reports.uptime_async(service, since, until)
        if format == "csv":
            return PlainTextResponse(
                report.csv(),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="uptime-{service}.csv"'},
            )
        return report.to_dict()

    return router
