"""The one ASGI app: Watchkeeper's JSON API (``/api/v1``), the Prometheus query API
(``/prometheus``), the Alertmanager v2 API (``/alertmanager``), the dashboard and the
public status page. Every route declares a permission or says why it is public; the app
refuses to start otherwise (deny by default)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from watchkeeper import __version__
from watchkeeper.alerting.api import alerting_routers
from watchkeeper.cluster.api import cluster_router
from watchkeeper.collect.heartbeat.api import heartbeat_router
from watchkeeper.notify.api import build_router as notify_router
from watchkeeper.promql.api import build_router as prometheus_router
from watchkeeper.readiness.api import build_router as readiness_router
from watchkeeper.remote.api import remote_write_router, text_push_router
from watchkeeper.web.api import api_router, ops_router
from watchkeeper.web.auth import WebAuth, install_auth
from watchkeeper.web.deps import public, unguarded_routes
from watchkeeper.web.errors import install_error_handlers
from watchkeeper.web.pages import pages_router
from watchkeeper.web.pages_admin import admin_pages_router
from watchkeeper.web.pages_alerts import alerts_pages_router
from watchkeeper.web.pages_base import LoginRequired, PageForbidden, make_templates, render
from watchkeeper.web.pages_oncall import oncall_pages_router
from watchkeeper.web.pages_readiness import readiness_pages_router
from watchkeeper.web.pages_silences import silences_pages_router
from watchkeeper.web.pages_slo import slo_pages_router
from watchkeeper.web.security_api import security_api_router
from watchkeeper.web.security_headers import SecurityHeadersMiddleware, security_headers_options
from watchkeeper.web.slo_api import slo_api_router
from watchkeeper.web.status import status_router

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
UNGUARDED_OK = frozenset({STATIC_PREFIX})


class UnguardedRouteError(RuntimeError):
    """A route declares no permission: deny by default refuses to serve the app."""


def static_url(path: str) -> str:
    return f"{STATIC_PREFIX}/{path}?v={__version__}"


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI description, with a unique operationId per path and method (FastAPI
    gives a route that serves several methods one id for all of them)."""
    if app.openapi_schema is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Duplicate Operation ID")
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        seen: set[str] = set()
        for item in doc.get("paths", {}).values():
            for method, operation in item.items():
                op_id = operation.get("operationId")
                if not op_id:
                    continue
                if op_id in seen:
                    op_id = f"{op_id}_{method}"
                    operation["operationId"] = op_id
                seen.add(op_id)
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="Watchkeeper",
        version=__version__,
        description="Monitoring, alerting and production-readiness API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = rt
    templates = make_templates(static_url)
    install_error_handlers(app)

    async def login_redirect(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, LoginRequired):  # pragma: no cover - registration
            raise exc
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    async def page_forbidden(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, PageForbidden):  # pragma: no cover
            raise exc
        return render(
            templates,
            request,
            "forbidden.html",
            "",
            status_code=403,
            title="Not allowed",
            permission=exc.permission.value,
        )

    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(PageForbidden, page_forbidden)

    app.include_router(ops_router(rt))
    app.include_router(api_router(rt))
    app.include_router(
        prometheus_router(
            rt.engine,  # the embedded or the remote engine
            rt.remote.query_store,
            clock=rt.clock,
            rules_provider=rt.rule_views,
            alerts_provider=rt.rule_views,
        )
    )
    app.include_router(
        heartbeat_router(
            rt.heartbeats,
            rt.clock,
            dependencies=[Depends(public("the token in the URL is the credential"))],
        )
    )
    auth = WebAuth(db=rt.db, security=rt.security)
    app.include_router(security_api_router(auth))
    for router in alerting_routers(rt.alerts):
        app.include_router(router)
    app.include_router(
        notify_router(rt.notify, external_url=rt.config.server.base_url(), audit=rt.security.audit)
    )
    app.include_router(readiness_router(rt.readiness))
    app.include_router(slo_api_router(rt.reports, rt.anomaly))
    app.include_router(remote_write_router(rt.remote.push))
    app.include_router(text_push_router(rt.remote.push))
    app.include_router(pages_router(rt, templates))
    app.include_router(alerts_pages_router(rt, templates))
    app.include_router(silences_pages_router(rt, templates))
    app.include_router(oncall_pages_router(rt, templates))
    app.include_router(readiness_pages_router(rt, templates))
    app.include_router(slo_pages_router(rt.reports, templates))
    app.include_router(admin_pages_router(rt, templates))
    app.include_router(status_router(rt, templates))
    app.include_router(cluster_router(lambda: rt.cluster))

    @app.get("/api/v1/openapi.json", dependencies=[Depends(public("API description"))])
    def openapi() -> JSONResponse:
        return JSONResponse(openapi_document(app))

    app.mount(STATIC_PREFIX, StaticFiles(directory=str(STATIC)), name="static")

    install_auth(app, auth, csrf_exempt_paths=("/api/v1/heartbeat/",))
    app.add_middleware(SecurityHeadersMiddleware, **security_headers_options(rt.config.security))
    missing = unguarded_routes(app, allow=UNGUARDED_OK)
    if missing:
        raise UnguardedRouteError(
            "routes without a permission: " + ", ".join(str(g) for g in missing)
        )
    return app
