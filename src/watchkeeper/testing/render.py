"""A fake of Render's public API v1 (what the ``render`` collector reads): a service,
its instances, cursor-paged deploys (``[{cursor, deploy}]``), and the metrics endpoints
(``[{labels: [{field, value}], values: [{timestamp, value}], unit}]``), with
``Ratelimit-*`` headers (reset in seconds), ``{"id", "message"}`` errors and 401 for a bad
key. Every base path is served under ``/v1``.

Controls: :meth:`FakeRender.deploy` (newest first), :meth:`FakeRender.set_newest_status`,
:meth:`FakeRender.set_instances`, :meth:`FakeRender.set_autoscaling`,
:meth:`FakeRender.set_suspended`, :meth:`FakeRender.set_metric`, :meth:`FakeRender.set_plan`;
plus the shared faults.

``POST /v1/services/{id}/rollback`` (body ``{"deployId"}``) answers 201 with a new deploy
(``trigger: "rollback"``, ``update_in_progress``) that turns ``live`` on its next read
through ``GET /v1/services/{id}/deploys/{deployId}`` (or the deploys list).
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.testing.paas import ApiFake, RateHeaders
from watchkeeper.testing.server import FakeServer

METRIC_UNITS = {
    "cpu": "cpu",
    "cpu-limit": "cpu",
    "memory": "bytes",
    "memory-limit": "bytes",
    "instance-count": "instances",
    "http-requests": "unitless",
    "http-latency": "ms",
    "bandwidth": "bytes",
}


class FakeRender(ApiFake):
    rate_headers = RateHeaders("Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", False)

    def __init__(
        self,
        *,
        service_id: str = "srv-d1a2b3c4d5e6f7g8h9i0",
        name: str = "acme-api",
        token: str = "render-key",  # noqa: S107 - a fake's credential
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token=token, clock=clock, **kwargs)
        self.service_id = service_id
        self.name = name
        self.suspended = False
        self.num_instances = 2
        self.autoscaling = {"enabled": True, "min": 2, "max": 5}
        self.instances = 2
        self.plan = "standard"
        self._seq = itertools.count(1)
        self.deploys: list[dict[str, Any]] = []
        # metric -> list of (labels, value); the newest point carries these values
        self.metrics: dict[str, list[tuple[dict[str, str], float]]] = {
            "cpu": [({"instance": f"{service_id}-a1b2c"}, 0.25)],
            "cpu-limit": [({}, 1.0)],
            "memory": [({"instance": f"{service_id}-a1b2c"}, 300e6)],
            "memory-limit": [({}, 2e9)],
            "instance-count": [({}, 2.0)],
            "http-requests": [({"statusCode": "200"}, 600.0), ({"statusCode": "500"}, 6.0)],
            "http-latency": [({"quantile": "0.95"}, 120.0)],
            "bandwidth": [({}, 1.5e6)],
        }
        self.deploy("live", age=3600.0)
        e = self.endpoint
        self.app = Starlette(
            routes=[
                Route("/v1/services/{sid}", e(self._service)),
                Route("/v1/services/{sid}/instances", e(self._instances)),
                Route("/v1/services/{sid}/deploys", e(self._deploys)),
                Route("/v1/services/{sid}/deploys/{did}", e(self._deploy)),
                Route("/v1/services/{sid}/rollback", e(self._rollback), methods=["POST"]),
                Route("/v1/metrics/{metric}", e(self._metric)),
            ]
        )

    def serve(self, port: int = 0) -> FakeServer:
        return FakeServer(self.app, port=port)

    # ------------------------------------------------------------------ controls
    def deploy(self, status: str = "live", *, age: float = 0.0, duration: float = 200.0) -> str:
        with self.lock:
            dep_id = f"dep-{next(self._seq):020d}"
            created = self.clock.now() - age - duration
            dep: dict[str, Any] = {
                "id": dep_id,
                "status": status,
                "trigger": "new_commit",
                "commit": {"id": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "message": "feat"},
                "createdAt": rfc3339(created),
                "startedAt": rfc3339(created + 1),
                "updatedAt": rfc3339(created + duration),
            }
            if status not in ("created", "queued") and not status.endswith("_in_progress"):
                dep["finishedAt"] = rfc3339(created + duration)
            for old in self.deploys:
                if status == "live" and old["status"] == "live":
                    old["status"] = "deactivated"
            self.deploys.insert(0, dep)
            return dep_id

    def set_newest_status(self, status: str) -> None:
        with self.lock:
            self.deploys[0]["status"] = status

    def set_instances(self, n: int) -> None:
        with self.lock:
            self.instances = n
            self.metrics["instance-count"] = [({}, float(n))]

    def set_autoscaling(self, enabled: bool, low: int = 1, high: int = 1) -> None:
        with self.lock:
            self.autoscaling = {"enabled": enabled, "min": low, "max": high}

    def set_plan(self, plan: str) -> None:
        with self.lock:
            self.plan = plan

    def set_suspended(self, suspended: bool) -> None:
        with self.lock:
            self.suspended = suspended

    def set_metric(self, metric: str, points: list[tuple[dict[str, str], float]]) -> None:
        """Newest values of a metrics endpoint, e.g. ``set_metric("cpu", [({"instance":
        "srv-x-1"}, 0.95)])``."""
        with self.lock:
            self.metrics[metric] = points

    # ------------------------------------------------------------------ API
    def error_body(self, status: int, code: str, message: str) -> Any:
        if status == 401:
            message = "Unauthorized"
        return {"id": code, "message": message}

    def _known(self, request: Request) -> bool:
        return bool(request.path_params.get("sid") == self.service_id)

    async def _service(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, self.error_body(404, "not_found", "service not found")
        with self.lock:
            scaling = {
                **self.autoscaling,
                "criteria": {
                    "cpu": {"enabled": True, "percentage": 70},
                    "memory": {"enabled": False, "percentage": 80},
                },
            }
            return 200, {
                "id": self.service_id,
                "name": self.name,
                "ownerId": "tea-c9x8y7w6v5u4t3s2r1q0",
                "type": "web_service",
                "slug": self.name,
                "branch": "main",
                "autoDeploy": "yes",
                "suspended": "suspended" if self.suspended else "not_suspended",
                "suspenders": ["user"] if self.suspended else [],
                "createdAt": "2026-01-05T10:12:31.123456Z",
                "updatedAt": rfc3339(self.clock.now()),
                "serviceDetails": {
                    "plan": self.plan,
                    "region": "oregon",
                    "numInstances": self.num_instances,
                    "healthCheckPath": "/health",
                    "url": f"https://{self.name}.onrender.com",
                    "autoscaling": scaling,
                },
            }

    async def _instances(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, self.error_body(404, "not_found", "service not found")
        with self.lock:
            return 200, [
                {"id": f"{self.service_id}-{i:05d}", "createdAt": "2026-08-21T09:58:20Z"}
                for i in range(self.instances)
            ]

    async def _deploys(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, self.error_body(404, "not_found", "service not found")
        q = request.query_params
        limit = min(100, int(q.get("limit", "20")))
        with self.lock:
            self._settle()
            wrapped = [{"cursor": d["id"], "deploy": dict(d)} for d in self.deploys]
        if "cursor" in q:
            ids = [w["cursor"] for w in wrapped]
            start = ids.index(q["cursor"]) + 1 if q["cursor"] in ids else len(ids)
            wrapped = wrapped[start:]
        return 200, wrapped[:limit]

    def _settle(self) -> None:
        """Under the lock: a rollback deploy in progress goes live on the next read."""
        for dep in self.deploys:
            if dep["status"] == "update_in_progress" and dep.get("trigger") == "rollback":
                now = rfc3339(self.clock.now())
                for old in self.deploys:
                    if old["status"] == "live":
                        old["status"] = "deactivated"
                dep.update(status="live", finishedAt=now, updatedAt=now)

    async def _deploy(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, self.error_body(404, "not_found", "service not found")
        with self.lock:
            self._settle()
            dep = next((d for d in self.deploys if d["id"] == request.path_params["did"]), None)
            if dep is None:
                return 404, self.error_body(404, "not_found", "deploy not found")
            return 200, dict(dep)

    async def _rollback(self, request: Request) -> tuple[int, Any]:
        if not self._known(request):
            return 404, self.error_body(404, "not_found", "service not found")
        try:
            body = await request.json()
        except ValueError:
            body = None
        target = body.get("deployId") if isinstance(body, dict) else None
        if not isinstance(target, str):
            return 400, self.error_body(400, "invalid", "deployId is required")
        with self.lock:
            old = next((d for d in self.deploys if d["id"] == target), None)
            if old is None:
                return 404, self.error_body(404, "not_found", "deploy not found")
            now = rfc3339(self.clock.now())
            dep = {
                "id": f"dep-{next(self._seq):020d}",
                "status": "update_in_progress",
                "trigger": "rollback",
                "commit": dict(old.get("commit") or {}),
                "createdAt": now,
                "startedAt": now,
                "updatedAt": now,
            }
            self.deploys.insert(0, dep)
            return 201, dict(dep)

    async def _metric(self, request: Request) -> tuple[int, Any]:
        metric = request.path_params["metric"]
        q = request.query_params
        if metric not in METRIC_UNITS:
            return 404, self.error_body(404, "not_found", f"unknown metric {metric}")
        if q.get("resource") != self.service_id:
            return 400, self.error_body(400, "invalid", "resource is required")
        now = self.clock.now()
        with self.lock:
            points = list(self.metrics.get(metric, []))
        if metric == "http-latency":
            wanted = set(q.getlist("quantile"))
            points = [p for p in points if p[0].get("quantile") in wanted]
        return 200, [
            {
                "labels": [{"field": "resource", "value": self.service_id}]
                + [{"field": k, "value": v} for k, v in labels.items()],
                "unit": METRIC_UNITS[metric],
                "values": [
                    {"timestamp": rfc3339(now - 120), "value": value * 0.5},
                    {"timestamp": rfc3339(now - 60), "value": value},
                ],
            }
            for labels, value in points
        ]
