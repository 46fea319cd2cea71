"""A fake of the Vercel REST API (the endpoints the ``vercel`` collector reads), with the
documented shapes: ``/v9/projects/{idOrName}``, ``/v6/deployments`` (``until`` paging,
``pagination.next``), ``/v9/projects/{id}/domains``, ``{"error": {code, message}}`` errors,
403 for a bad token, 429 with the ``limit`` object and ``X-RateLimit-*`` headers.

Controls: :meth:`FakeVercel.deploy` adds a deployment (newest first),
:meth:`FakeVercel.set_newest_state` marks the newest one ERROR/BUILDING/...,
:meth:`FakeVercel.rollback` points production at an older one, :meth:`FakeVercel.set_domain`;
plus the shared faults of :class:`~watchkeeper.testing.paas.ApiFake`.

Instant rollback and promote (``POST /v9|v1/projects/{id}/rollback/{dpl}``, ``POST
/v10/projects/{id}/promote/{dpl}``) answer 201 without a body; the move then shows in
``project.lastAliasRequest`` whose ``jobStatus`` goes pending -> in-progress -> succeeded
over the next project reads, production switching at "succeeded".
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from watchkeeper.core.clock import Clock
from watchkeeper.testing.paas import ApiFake
from watchkeeper.testing.server import FakeServer


class FakeVercel(ApiFake):
    auth_failure_status = 403

    def __init__(
        self,
        *,
        project: str = "acme-web",
        project_id: str = "prj_4fGh7JkL2mNp9QrS1tUv3WxY5zAb",
        team_id: str | None = None,
        token: str = "vercel-token",  # noqa: S107 - a fake's credential
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token=token, clock=clock, **kwargs)
        self.project_name = project
        self.project_id = project_id
        self.team_id = team_id
        self._seq = itertools.count(1)
        self.deployments: list[dict[str, Any]] = []  # newest first
        self.serving_id: str | None = None
        self.domains: dict[str, bool] = {f"{project}.dev": True}
        self.alias_request: dict[str, Any] | None = None
        self._alias_polls = 0
        self.deploy(state="READY", age=86400.0, build_seconds=62.0)
        e = self.endpoint
        self.app = Starlette(
            routes=[
                Route("/v9/projects/{id_or_name}", e(self._project)),
                Route("/v6/deployments", e(self._deployments)),
                Route("/v9/projects/{id_or_name}/domains", e(self._domains)),
                Route("/v2/user", e(self._user)),
                Route(
                    "/v9/projects/{pid}/rollback/{dpl}",
                    e(self._rollback_request),
                    methods=["POST"],
                ),
                Route(
                    "/v1/projects/{pid}/rollback/{dpl}",
                    e(self._rollback_request),
                    methods=["POST"],
                ),
                Route(
                    "/v10/projects/{pid}/promote/{dpl}", e(self._promote_request), methods=["POST"]
                ),
            ]
        )

    def serve(self, port: int = 0) -> FakeServer:
        return FakeServer(self.app, port=port)

    # ------------------------------------------------------------------ controls
    def deploy(
        self,
        *,
        state: str = "READY",
        age: float = 0.0,
        build_seconds: float = 60.0,
        target: str | None = "production",
        error_message: str | None = None,
        commit_sha: str | None = None,
    ) -> str:
        """Add the newest deployment; a READY production one starts serving. Its commit
        (``meta.githubCommitSha``) is ``commit_sha`` or one made up from its number."""
        with self.lock:
            n = next(self._seq)
            uid = f"dpl_{n:04d}{'x' * 24}"
            created = (self.clock.now() - age) * 1000
            dep: dict[str, Any] = {
                "uid": uid,
                "name": self.project_name,
                "projectId": self.project_id,
                "url": f"{self.project_name}-{n:04d}-acme.vercel.app",
                "created": int(created),
                "createdAt": int(created),
                "buildingAt": int(created + 2000),
                "source": "git",
                "state": state,
                "readyState": state,
                "type": "LAMBDAS",
                "target": target,
                "creator": {"uid": "eLrCnEgbKhsHyfbiNR7E8496", "username": "acme-ci"},
                "meta": {
                    "githubCommitRef": "main",
                    "githubCommitSha": commit_sha or f"{n:040x}",
                },
                "aliasError": None,
                "inspectorUrl": f"https://vercel.com/acme/{self.project_name}/{uid[4:]}",
            }
            self._finish(dep, state, build_seconds, error_message)
            self.deployments.insert(0, dep)
            self.deployments.sort(key=lambda d: d["createdAt"], reverse=True)
            if state == "READY" and target == "production":
                self.serving_id = uid
            return uid

    def set_newest_state(
        self, state: str, *, build_seconds: float = 60.0, error_message: str | None = None
    ) -> None:
        with self.lock:
            dep = self.deployments[0]
            dep["state"] = dep["readyState"] = state
            self._finish(dep, state, build_seconds, error_message)
            if state == "READY" and dep["target"] == "production":
                self.serving_id = dep["uid"]

    def rollback(self, uid: str) -> None:
        with self.lock:
            self.serving_id = uid

    def set_domain(self, name: str, verified: bool) -> None:
        with self.lock:
            self.domains[name] = verified

    @staticmethod
    def _finish(dep: dict[str, Any], state: str, build_seconds: float, error: str | None) -> None:
        for key in ("ready", "errorCode", "errorMessage", "buildErrorAt", "readySubstate"):
            dep.pop(key, None)
        if state == "READY":
            dep["ready"] = dep["buildingAt"] + int(build_seconds * 1000)
            dep["readySubstate"] = "PROMOTED"
        elif state == "ERROR":
            dep["buildErrorAt"] = dep["buildingAt"] + int(build_seconds * 1000)
            dep["errorCode"] = "BUILD_FAILED"
            dep["errorMessage"] = error or 'Command "npm run build" exited with 1'

    # ------------------------------------------------------------------ API
    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"error": {"code": code, "message": message}}

    def _team_ok(self, request: Request) -> bool:
        return self.team_id is None or request.query_params.get("teamId") == self.team_id

    async def _user(self, request: Request) -> tuple[int, Any]:
        return 200, {"user": {"id": "u1", "username": "acme-ci"}}

    async def _project(self, request: Request) -> tuple[int, Any]:
        key = request.path_params["id_or_name"]
        if key not in (self.project_id, self.project_name) or not self._team_ok(request):
            return 404, self.error_body(404, "not_found", f"Project not found: {key}")
        with self.lock:
            serving = next((d for d in self.deployments if d["uid"] == self.serving_id), None)
            body: dict[str, Any] = {
                "accountId": self.team_id or "u1",
                "id": self.project_id,
                "name": self.project_name,
                "framework": "nextjs",
                "createdAt": 1767225600000,
                "updatedAt": int(self.clock.now() * 1000),
                "live": False,
                "paused": False,
                "link": {
                    "type": "github",
                    "org": "acme",
                    "repo": "web",
                    "productionBranch": "main",
                },
                "latestDeployments": [_brief(d) for d in self.deployments[:1]],
                "targets": {"production": _brief(serving)} if serving else {},
                "lastAliasRequest": self._advance_alias_request(),
            }
        return 200, body

    def _advance_alias_request(self) -> dict[str, Any] | None:
        """Called under the lock on each project read: moves a pending promote/rollback
        along (pending -> in-progress -> succeeded) and switches production at the end."""
        req = self.alias_request
        if req is None or req["jobStatus"] == "succeeded":
            return dict(req) if req else None
        self._alias_polls += 1
        if self._alias_polls == 1:
            req["jobStatus"] = "in-progress"
        else:
            req["jobStatus"] = "succeeded"
            self.serving_id = req["toDeploymentId"]
        return dict(req)

    async def _alias_request(self, request: Request, kind: str) -> tuple[int, Any]:
        pid, dpl = request.path_params["pid"], request.path_params["dpl"]
        if pid not in (self.project_id, self.project_name) or not self._team_ok(request):
            return 404, self.error_body(404, "not_found", f"Project not found: {pid}")
        with self.lock:
            target = next((d for d in self.deployments if d["uid"] == dpl), None)
            if target is None:
                return 404, self.error_body(404, "not_found", f"Deployment not found: {dpl}")
            if target["readyState"] != "READY" or target["target"] != "production":
                return 400, self.error_body(
                    400, "bad_request", f"{dpl} is not a READY production deployment"
                )
            if self.alias_request and self.alias_request["jobStatus"] != "succeeded":
                return 409, self.error_body(409, "conflict", "another alias job is running")
            self.alias_request = {
                "type": kind,
                "fromDeploymentId": self.serving_id,
                "toDeploymentId": dpl,
                "jobStatus": "pending",
                "requestedAt": int(self.clock.now() * 1000),
            }
            self._alias_polls = 0
        return 201, None

    async def _rollback_request(self, request: Request) -> tuple[int, Any]:
        return await self._alias_request(request, "rollback")

    async def _promote_request(self, request: Request) -> tuple[int, Any]:
        return await self._alias_request(request, "promote")

    async def _deployments(self, request: Request) -> tuple[int, Any]:
        q = request.query_params
        if q.get("projectId") not in (self.project_id, None) or not self._team_ok(request):
            return 404, self.error_body(404, "not_found", "Project not found")
        try:
            limit = min(100, int(q.get("limit", "20")))
            until = int(q["until"]) if "until" in q else None
        except ValueError:
            return 400, self.error_body(400, "bad_request", "invalid limit or until")
        with self.lock:
            items = [
                d
                for d in self.deployments
                if (q.get("target") is None or d["target"] == q.get("target"))
                and (until is None or d["createdAt"] <= until)
            ]
            page = [dict(d) for d in items[:limit]]
        more = len(items) > limit
        next_ = page[-1]["createdAt"] - 1 if more and page else None
        prev = page[0]["createdAt"] + 1 if page else None
        return 200, {
            "deployments": page,
            "pagination": {"count": len(page), "next": next_, "prev": prev},
        }

    async def _domains(self, request: Request) -> tuple[int, Any]:
        key = request.path_params["id_or_name"]
        if key not in (self.project_id, self.project_name):
            return 404, self.error_body(404, "not_found", "Project not found")
        with self.lock:
            domains = [
                {
                    "name": name,
                    "apexName": name,
                    "projectId": self.project_id,
                    "verified": verified,
                    "redirect": None,
                    "gitBranch": None,
                    "createdAt": 1767225600000,
                    "updatedAt": 1767225600000,
                }
                for name, verified in sorted(self.domains.items())
            ]
        return 200, {
            "domains": domains,
            "pagination": {"count": len(domains), "next": None, "prev": None},
        }


def _brief(dep: dict[str, Any] | None) -> dict[str, Any]:
    if dep is None:
        return {}
    return {
        "id": dep["uid"],
        "name": dep["name"],
        "url": dep["url"],
        "createdAt": dep["createdAt"],
        "readyState": dep["readyState"],
        "readySubstate": dep.get("readySubstate"),
        "target": dep["target"],
        "type": "LAMBDAS",
    }
