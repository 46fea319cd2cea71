"""``/api/v1/maintenance-windows``, ``/api/v1/escalation-policies`` and ``/api/v1/oncall``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.alerting.api.edge import http_errors, timestamp
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.maintenance import WindowSource
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.core.clock import rfc3339
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import PageLimit, PageOffset, Principal, page, require


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receiver: str = Field(description="who is on call instead (a configured receiver)")
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime
    comment: str = ""


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def admin_router(manager: AlertManager) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["alerting"])
    read = Depends(require(Permission.ALERTS_READ))
    write_maintenance = Depends(require(Permission.MAINTENANCE_WRITE))
    write_alerts = Depends(require(Permission.ALERTS_WRITE))

    # -- maintenance windows ------------------------------------------------------------

    @router.get(
        "/maintenance-windows",
        dependencies=[read],
        description="A page of maintenance windows (``items``, ``total``, ``limit``, "
        "``offset``); ``data`` repeats ``items`` for earlier clients.",
    )
    async def list_windows(
        source: WindowSource | None = None,
        active: bool | None = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        now = manager.clock.now()
        intervals = manager.maintenance.intervals
        windows = [
            w.to_dict(now, intervals)
            for w in manager.maintenance.all()
            if source is None or w.source is source
        ]
        if active is not None:
            windows = [w for w in windows if w["active"] is active]
        out = page(windows, limit, offset)
        out["data"] = out["items"]
        return out

    @router.post("/maintenance-windows", status_code=201)
    async def create_window(
        body: dict[str, Any], request: Request, principal: Principal = write_maintenance
    ) -> dict[str, Any]:
        try:
            config = MaintenanceWindowConfig.model_validate(body)
        except ValidationError as exc:
            raise HTTPException(400, _validation_message(exc)) from None
        with http_errors():
            window = await manager.actions.create_maintenance(
                config, by=principal, remote_addr=remote_addr(request.scope)
            )
        return window.to_dict(manager.clock.now(), manager.maintenance.intervals)

    @router.get("/maintenance-windows/{window_id}", dependencies=[read])
    async def get_window(window_id: str) -> dict[str, Any]:
        with http_errors():
            window = manager.maintenance.get(window_id)
        return window.to_dict(manager.clock.now(), manager.maintenance.intervals)

    @router.delete("/maintenance-windows/{window_id}")
    async def delete_window(
        window_id: str, request: Request, principal: Principal = write_maintenance
    ) -> dict[str, Any]:
        with http_errors():
            window = await manager.actions.delete_maintenance(
                window_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        return {"deleted": window.id, "name": window.name}

    # -- escalation policies ------------------------------------------------------------

    def policy_dict(name: str) -> dict[str, Any]:
        policy = manager.escalation.policies[name]
        running = [s for s in manager.escalation.all() if s.policy == name]
        return {
            **policy.model_dump(mode="json"),
            "escalations": [s.to_dict(policy) for s in running],
        }

    @router.get("/escalation-policies", dependencies=[read])
    async def list_policies() -> dict[str, Any]:
        return {"data": [policy_dict(n) for n in sorted(manager.escalation.policies)]}

    @router.get("/escalation-policies/{name}", dependencies=[read])
    async def get_policy(name: str) -> dict[str, Any]:
        if name not in manager.escalation.policies:
            known = ", ".join(sorted(manager.escalation.policies)) or "(none configured)"
            raise HTTPException(404, f"unknown escalation policy {name!r}; policies: {known}")
        return policy_dict(name)

    # -- on-call ------------------------------------------------------------------------

    def rotation_dict(name: str, at: float) -> dict[str, Any]:
        rot = manager.oncall.rotation(name)
        current = manager.oncall.on_call(name, at)
        return {
            "name": name,
            "handoff": rot.config.handoff.value,
            "location": rot.config.location,
            "members": list(rot.config.members),
            "at": rfc3339(at),
            "on_call": current.to_dict(),
            "upcoming": [s.to_dict() for s in manager.oncall.schedule(name, current.ends_at, 4)],
            "overrides": [o.to_dict() for o in manager.oncall.overrides(name) if o.ends_at > at],
        }

    @router.get("/oncall", dependencies=[read])
    async def list_rotations() -> dict[str, Any]:
        now = manager.clock.now()
        return {"data": [rotation_dict(n, now) for n in sorted(manager.oncall.rotations)]}

    @router.get("/oncall/{rotation}", dependencies=[read])
    async def get_rotation(rotation: str, at: datetime | None = None) -> dict[str, Any]:
        with http_errors():
            return rotation_dict(rotation, timestamp(at, default=manager.clock.now(), what="at"))

    @router.post("/oncall/{rotation}/overrides", status_code=201)
    async def add_override(
        rotation: str, body: OverrideBody, request: Request, principal: Principal = write_alerts
    ) -> dict[str, Any]:
        now = manager.clock.now()
        with http_errors():
            override = manager.actions.add_override(
                rotation,
                body.receiver,
                timestamp(body.starts_at, default=now, what="starts_at"),
                timestamp(body.ends_at, default=now, what="ends_at"),
                by=principal,
                comment=body.comment,
                remote_addr=remote_addr(request.scope),
            )
        return override.to_dict()

    @router.delete("/oncall/{rotation}/overrides/{override_id}")
    async def remove_override(
        rotation: str, override_id: str, request: Request, principal: Principal = write_alerts
    ) -> dict[str, Any]:
        with http_errors():
            removed = manager.actions.remove_override(
                rotation, override_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        return removed.to_dict()

    return router
