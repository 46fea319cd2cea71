"""A fake of Supabase: the Management API endpoints the ``supabase`` collector reads
(``/v1/projects/{ref}``, ``/health`` which needs ``services=``, ``/database/backups`` with
space-separated ``inserted_at``, ``usage.api-counts``), ``X-RateLimit-*`` headers (reset in
seconds), ``{"message"}`` errors, and the project's Prometheus metrics endpoint at
``/customer/v1/privileged/metrics`` behind HTTP Basic ``service_role:<key>``.

Controls: :meth:`FakeSupabase.set_status`, :meth:`FakeSupabase.set_component`,
:meth:`FakeSupabase.make_backup_stale`, :meth:`FakeSupabase.set_pitr`,
:meth:`FakeSupabase.set_connections`; plus the shared faults.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from watchkeeper.core.clock import Clock
from watchkeeper.testing.paas import ApiFake, RateHeaders
from watchkeeper.testing.server import FakeServer

COMPONENTS = (
    "auth",
    "db",
    "db_postgres_user",
    "pooler",
    "realtime",
    "rest",
    "storage",
    "pg_bouncer",
)


class FakeSupabase(ApiFake):
    rate_headers = RateHeaders(
        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", False
    )

    def __init__(
        self,
        *,
        ref: str = "abcdefghijklmnopqrst",
        token: str = "sbp_test_token",  # noqa: S107 - a fake's credential
        service_role_key: str = "service-role-jwt",
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            token=token, clock=clock, rate_limit=kwargs.pop("rate_limit", 120), **kwargs
        )
        self.ref = ref
        self.service_role_key = service_role_key
        self.status = "ACTIVE_HEALTHY"
        self.components: dict[str, tuple[bool, str | None]] = {c: (True, None) for c in COMPONENTS}
        self.backup_age_hours = 6.0
        self.pitr = False
        self.connections = 13
        self.max_connections = 60
        e = self.endpoint
        self.app = Starlette(
            routes=[
                Route("/v1/projects/{ref}", e(self._project)),
                Route("/v1/projects/{ref}/health", e(self._health)),
                Route("/v1/projects/{ref}/database/backups", e(self._backups)),
                Route("/v1/projects/{ref}/analytics/endpoints/usage.api-counts", e(self._usage)),
                Route("/customer/v1/privileged/metrics", self._metrics),
            ]
        )

    def serve(self, port: int = 0) -> FakeServer:
        return FakeServer(self.app, port=port)

    # ------------------------------------------------------------------ controls
    def set_status(self, status: str) -> None:
        with self.lock:
            self.status = status

    def set_component(self, name: str, healthy: bool, error: str | None = None) -> None:
        with self.lock:
            self.components[name] = (healthy, error)

    def make_backup_stale(self, hours: float = 30.0) -> None:
        """The newest COMPLETED backup is ``hours`` old (fresh ones are 6 h old)."""
        with self.lock:
            self.backup_age_hours = hours

    def set_pitr(self, enabled: bool) -> None:
        with self.lock:
            self.pitr = enabled

    def set_connections(self, used: int, maximum: int = 60) -> None:
        with self.lock:
            self.connections, self.max_connections = used, maximum

    # ------------------------------------------------------------------ API
    def _known(self, request: Request) -> bool:
        return bool(request.path_params.get("ref") == self.ref)

    async def _project(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, {"message": "Project not found"}
        with self.lock:
            status = self.status
        return 200, {
            "id": self.ref,
            "ref": self.ref,
            "organization_id": "tsrqponmlkjihgfedcba",
            "organization_slug": "tsrqponmlkjihgfedcba",
            "name": "acme-prod",
            "region": "us-east-1",
            "created_at": "2026-01-05T10:12:31.123Z",
            "status": status,
            "database": {"host": f"db.{self.ref}.supabase.co", "version": "17.4.1.054"},
        }

    async def _health(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, {"message": "Project not found"}
        wanted = request.query_params.getlist("services")
        if not wanted:
            return 400, {"message": "services must be given"}
        out = []
        with self.lock:
            for name in wanted:
                healthy, error = self.components.get(name, (False, "unknown service"))
                item: dict[str, Any] = {
                    "name": name,
                    "healthy": healthy,
                    "status": "ACTIVE_HEALTHY" if healthy else "UNHEALTHY",
                }
                if error:
                    item["error"] = error
                out.append(item)
        return 200, out

    async def _backups(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, {"message": "Project not found"}
        with self.lock:
            newest = self.clock.now() - self.backup_age_hours * 3600
            pitr = self.pitr

        def stamp(ts: float) -> str:
            return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")

        backups = [
            {
                "id": 1812,
                "is_physical_backup": True,
                "status": "COMPLETED",
                "inserted_at": stamp(newest),
            },
            {
                "id": 1811,
                "is_physical_backup": True,
                "status": "FAILED",
                "inserted_at": stamp(newest - 43200),
            },
            {
                "id": 1809,
                "is_physical_backup": True,
                "status": "COMPLETED",
                "inserted_at": stamp(newest - 86400),
            },
        ]
        physical = (
            {
                "earliest_physical_backup_date_unix": int(newest - 7 * 86400),
                "latest_physical_backup_date_unix": int(newest),
            }
            if pitr
            else {}
        )
        return 200, {
            "region": "us-east-1",
            "walg_enabled": True,
            "pitr_enabled": pitr,
            "backups": backups,
            "physical_backup_data": physical,
        }

    async def _usage(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, {"message": "Project not found"}
        now = self.clock.now()

        def row(ts: float, scale: int) -> dict[str, Any]:
            return {
                "timestamp": datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z"),
                "total_auth_requests": 14 * scale,
                "total_realtime_requests": 0,
                "total_rest_requests": 382 * scale,
                "total_storage_requests": 9 * scale,
            }

        return 200, {"result": [row(now - 7200, 1), row(now - 3600, 2)]}

    async def _metrics(self, request: Request) -> Response:
        expected = base64.b64encode(f"service_role:{self.service_role_key}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return PlainTextResponse("unauthorized", status_code=401)
        labels = (
            f'supabase_project_ref="{self.ref}",supabase_identifier="{self.ref}",'
            'service_type="postgresql",server="localhost:5432"'
        )
        with self.lock:
            used, maximum = self.connections, self.max_connections
        text = "\n".join(
            [
                "# HELP max_connections_connection_count Maximum allowed connections",
                "# TYPE max_connections_connection_count gauge",
                f"max_connections_connection_count{{{labels}}} {maximum}",
                "# HELP connection_stats_connection_count Number of active connections",
                "# TYPE connection_stats_connection_count gauge",
                f'connection_stats_connection_count{{{labels},username="authenticator"}} {used}',
                "# HELP pg_stat_database_deadlocks_total Deadlocks detected",
                "# TYPE pg_stat_database_deadlocks_total counter",
                f"pg_stat_database_deadlocks_total{{{labels}}} 3",
                "",
            ]
        )
        return Response(text, headers={"content-type": "text/plain; version=0.0.4; charset=utf-8"})
