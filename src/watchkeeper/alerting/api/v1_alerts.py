"""``/api/v1/alerts``: list, filter and page the current alerts and groups; acknowledge,
withdraw an acknowledgement, resolve by hand; read the history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.alerting.api.edge import http_errors, parse_filters, timestamp
from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.core.durations import Duration
from watchkeeper.core.labels import Matcher
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import MAX_ROW_ID, Principal, require


class AlertStatusFilter(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    ALL = "all"


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = ""
    expires_in: Duration | None = Field(None, description="e.g. 2h; default: until resolved")
    expires_at: datetime | None = None


def alerts_router(manager: AlertManager) -> APIRouter:
    router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
    read = Depends(require(Permission.ALERTS_READ))
    write = Depends(require(Permission.ALERTS_WRITE))

    def expiry(body: AckBody | None) -> float | None:
        if body is None:
            return None
        if body.expires_in is not None and body.expires_at is not None:
            raise HTTPException(400, "give expires_in or expires_at, not both")
        if body.expires_in is not None:
            return manager.clock.now() + float(body.expires_in)
        if body.expires_at is not None:
            return timestamp(body.expires_at, default=0.0, what="expires_at")
        return None

    @router.get("", dependencies=[read])
    async def list_alerts(
        filter: Annotated[list[str] | None, Query()] = None,
        status: AlertStatusFilter = AlertStatusFilter.FIRING,
        state: str | None = Query(None, description="active or suppressed"),
        service: str | None = None,
        receiver: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        filters = parse_filters(filter)
        if service:
            filters.append(Matcher.equal(manager.dependencies.label, service))
        if state not in (None, "active", "suppressed"):
            raise HTTPException(400, "state: use active or suppressed")
        views = manager.views.alerts(
            filters=filters, include_resolved=status is not AlertStatusFilter.FIRING
        )
        if status is AlertStatusFilter.RESOLVED:
            views = [v for v in views if not v.firing]
        if state is not None:
            views = [v for v in views if v.state.value == state]
        if receiver:
            views = [v for v in views if receiver in v.receivers]
        return {
            "data": [v.v1_dict() for v in views[offset : offset + limit]],
            "total": len(views),
            "limit": limit,
            "offset": offset,
        }

    @router.get("/groups", dependencies=[read])
    async def list_groups() -> dict[str, Any]:
        now = manager.clock.now()
        return {"data": [manager.views.group_dict(g, now) for g in manager.views.groups()]}

    @router.get("/groups/{group_id}", dependencies=[read])
    async def get_group(group_id: str) -> dict[str, Any]:
        with http_errors():
            group = manager.actions.group(group_id)
        return manager.views.group_dict(group, manager.clock.now())

    @router.post("/groups/{group_id}/ack")
    async def ack_group(
        group_id: str, request: Request, body: AckBody | None = None, principal: Principal = write
    ) -> dict[str, Any]:
        with http_errors():
            ack = await manager.actions.ack_group(
                group_id,
                by=principal,
                comment=body.comment if body else "",
                expires_at=expiry(body),
                remote_addr=remote_addr(request.scope),
            )
        return ack.to_dict()

    @router.post("/groups/{group_id}/unack")
    async def unack_group(
        group_id: str, request: Request, principal: Principal = write
    ) -> dict[str, Any]:
        with http_errors():
            ack = await manager.actions.unack_group(
                group_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        return {"unacknowledged": ack.to_dict(), "by": principal.name}

    @router.get("/history", dependencies=[read])
    async def history(
        fingerprint: str | None = None,
        group_id: str | None = None,
        event: Annotated[list[HistoryEvent] | None, Query()] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = Query(None, ge=0, le=MAX_ROW_ID),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        entries = manager.history.query(
            fingerprint=fingerprint,
            group_id=group_id,
            events=event,
            since=timestamp(since, default=0.0, what="since") if since else None,
            until=timestamp(until, default=0.0, what="until") if until else None,
            before_id=before_id,
            limit=limit,
        )
        data = [e.to_dict() for e in entries]
        return {
            "data": data,
            "next_before_id": entries[-1].id if len(entries) == limit else None,
        }

    @router.get("/{fingerprint}", dependencies=[read])
    async def get_alert(fingerprint: str) -> dict[str, Any]:
        with http_errors():
            alert = manager.actions.alert(fingerprint)
        return manager.views.view(alert, manager.clock.now()).v1_dict()

    @router.get("/{fingerprint}/history", dependencies=[read])
    async def alert_history(
        fingerprint: str,
        before_id: int | None = Query(None, ge=0, le=MAX_ROW_ID),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        entries = manager.history.query(fingerprint=fingerprint, before_id=before_id, limit=limit)
        return {
            "data": [e.to_dict() for e in entries],
            "next_before_id": entries[-1].id if len(entries) == limit else None,
        }

    @router.post("/{fingerprint}/ack")
    async def ack_alert(
        fingerprint: str,
        request: Request,
        body: AckBody | None = None,
        principal: Principal = write,
    ) -> dict[str, Any]:
        with http_errors():
            acks = await manager.actions.ack_alert(
                fingerprint,
                by=principal,
                comment=body.comment if body else "",
                expires_at=expiry(body),
                remote_addr=remote_addr(request.scope),
            )
        return {"data": [a.to_dict() for a in acks]}

    @router.post("/{fingerprint}/unack")
    async def unack_alert(
        fingerprint: str, request: Request, principal: Principal = write
    ) -> dict[str, Any]:
        with http_errors():
            acks = await manager.actions.unack_alert(
                fingerprint, by=principal, remote_addr=remote_addr(request.scope)
            )
        return {"data": [a.to_dict() for a in acks]}

    @router.post("/{fingerprint}/resolve")
    async def resolve_alert(
        fingerprint: str, request: Request, principal: Principal = write
    ) -> dict[str, Any]:
        with http_errors():
            alert = await manager.actions.resolve_alert(
                fingerprint, by=principal, remote_addr=remote_addr(request.scope)
            )
        return manager.views.view(alert, manager.clock.now()).v1_dict()

    return router
