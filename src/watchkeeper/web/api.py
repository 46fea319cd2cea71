"""Watchkeeper's own JSON API for services and checks, plus the health, self-metrics and
reload endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watchkeeper import __version__
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.errors import ConfigError
from watchkeeper.security.audit import AuditAction
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import PageLimit, PageOffset, Principal, page, public, require
from watchkeeper.web.views import service_summaries, service_summary

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime


def config_record(config: WatchkeeperConfig) -> dict[str, Any]:
    """The configuration as the audit log digests it (secrets redacted)."""
    return config.model_dump(mode="json", by_alias=True)


def api_router(rt: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["services"])
    services_read = [Depends(require(Permission.SERVICES_READ))]

    @router.get("/services", dependencies=services_read, summary="Every service and its status")
    def list_services(
        state: Annotated[str | None, Query(description="up, degraded, down or unknown")] = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        items = [s.to_dict() for s in service_summaries(rt)]
        if state is not None:
            items = [s for s in items if s["state"] == state]
        return page(items, limit, offset)

    @router.get("/services/{name}", dependencies=services_read, summary="One service")
    def get_service(name: str) -> dict[str, Any]:
        summary = service_summary(rt, name)
        if summary is None:
            raise HTTPException(404, f"no service named {name!r}")
        out = summary.to_dict()
        out["alerts"] = [a.v1_dict() for a in summary.alerts]
        return out

    @router.get("/checks", dependencies=services_read, summary="Every check and its last run")
    def list_checks(
        service: str | None = None,
        status: Annotated[str | None, Query(description="up, down or unknown")] = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        items = [
            s.to_dict()
            for s in sorted(rt.scheduler.statuses(), key=lambda s: s.key)
            if (service is None or s.service == service)
            and (status is None or s.status.value == status)
        ]
        return page(items, limit, offset)

    return router


def ops_router(rt: Runtime) -> APIRouter:
    """Liveness, readiness, self-metrics, reload."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", dependencies=[Depends(public("liveness probe"))])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @router.get("/readyz", dependencies=[Depends(public("readiness probe"))])
    def readyz() -> Response:
        problems = []
        try:
            with rt.db.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            problems.append(f"state database: {exc}")
        cluster = None
        if rt.cluster is not None:
            cluster_problems, cluster = rt.cluster.readiness()
            problems.extend(cluster_problems)
        body = {
            "status": "ok" if not problems else "unavailable",
            "problems": problems,
            "targets": len(rt.scheduler.targets()),
            "rule_groups": len(rt.rules.groups),
            "cluster": cluster,
        }
        return JSONResponse(body, status_code=200 if not problems else 503)

    @router.get(
        "/metrics",
        dependencies=[Depends(public("self-metrics for Prometheus scrapers; no secrets"))],
        response_class=Response,
    )
    def metrics() -> Response:
        return Response(generate_latest(rt.registry), media_type=CONTENT_TYPE_LATEST)

    @router.post("/-/reload")
    async def reload(
        request: Request,
        principal: Annotated[Principal, Depends(require(Permission.CONFIG_WRITE))],
    ) -> dict[str, str]:
        before = config_record(rt.config)
        try:
            await rt.reload()
        except ConfigError as exc:
            raise HTTPException(
                400, "configuration not reloaded: " + "; ".join(exc.problems)
            ) from None
        # The configuration lives in its file, not in the database: the record is the
        # only write, made once the new configuration is in place.
        after = config_record(rt.config)
        with rt.db.begin() as conn:
            rt.security.audit.record(
                conn,
                principal,
                AuditAction.CONFIG_RELOAD,
                "config",
                before=before,
                after=after,
                detail={"changed": before != after},
                remote_addr=remote_addr(request.scope),
            )
        return {"status": "reloaded"}

    return router
