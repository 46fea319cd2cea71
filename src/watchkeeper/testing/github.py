"""A fake of GitHub's Actions runs API: ``/repos/{owner}/{repo}/actions/runs`` and
``/repos/{owner}/{repo}/actions/workflows/{workflow}/runs`` with ``branch``/``per_page``/
``page``, ``total_count`` + ``workflow_runs``, a ``Link`` header, ``x-ratelimit-*``
headers and ``{"message", "documentation_url"}`` errors (401 "Bad credentials").

Controls: :meth:`FakeGithub.add_run` (newest first), :meth:`FakeGithub.set_latest`, and
the shared faults of :class:`~watchkeeper.testing.paas.ApiFake`.
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


class FakeGithub(ApiFake):
    rate_headers = RateHeaders(
        "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", True
    )

    def __init__(
        self,
        *,
        repo: str = "acme/api",
        workflow: str = "ci.yml",
        token: str = "gh-token",  # noqa: S107 - a fake's credential
        clock: Clock | None = None,
        rate_limit: int = 5000,
        rate_window: float = 3600.0,
    ) -> None:
        super().__init__(token=token, clock=clock, rate_limit=rate_limit, rate_window=rate_window)
        self.repo = repo
        self.workflow = workflow
        self._ids = itertools.count(30629753158)
        self.runs: list[dict[str, Any]] = []  # newest first
        self.add_run("success", age=3600.0)
        self.base_url = ""
        e = self.endpoint
        self.app = Starlette(
            routes=[
                Route("/repos/{owner}/{name}/actions/runs", e(self._runs)),
                Route("/repos/{owner}/{name}/actions/workflows/{workflow}/runs", e(self._runs)),
            ]
        )

    def serve(self, port: int = 0) -> FakeServer:
        server = FakeServer(self.app, port=port)
        self.base_url = server.url
        return server

    def add_run(
        self,
        conclusion: str | None,
        *,
        status: str = "completed",
        branch: str = "main",
        duration: float = 300.0,
        age: float = 0.0,
        title: str = "feat: order export",
    ) -> int:
        with self.lock:
            run_id = next(self._ids)
            started = self.clock.now() - age - duration
            updated = started + duration if status == "completed" else self.clock.now()
            html = f"https://github.com/{self.repo}/actions/runs/{run_id}"
            self.runs.insert(
                0,
                {
                    "id": run_id,
                    "name": "CI",
                    "head_branch": branch,
                    "head_sha": f"{run_id:040x}"[-40:],
                    "path": f".github/workflows/{self.workflow}",
                    "display_title": title,
                    "run_number": len(self.runs) + 1,
                    "event": "push",
                    "status": status,
                    "conclusion": conclusion if status == "completed" else None,
                    "workflow_id": 324431004,
                    "html_url": html,
                    "url": f"https://api.github.com/repos/{self.repo}/actions/runs/{run_id}",
                    "pull_requests": [],
                    "created_at": rfc3339(started).replace(".000", ""),
                    "updated_at": rfc3339(updated).replace(".000", ""),
                    "run_started_at": rfc3339(started).replace(".000", ""),
                    "run_attempt": 1,
                    "head_commit": None,
                },
            )
            return run_id

    def set_latest(self, conclusion: str) -> None:
        with self.lock:
            self.runs[0]["status"] = "completed"
            self.runs[0]["conclusion"] = conclusion

    def error_body(self, status: int, code: str, message: str) -> Any:
        if status == 401:
            message = "Bad credentials"
        return {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }

    async def _runs(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        p, q = request.path_params, request.query_params
        if f"{p['owner']}/{p['name']}" != self.repo or p.get("workflow", self.workflow) not in (
            self.workflow,
            "324431004",
        ):
            return 404, self.error_body(404, "not_found", "Not Found"), {}
        try:
            per_page = min(100, int(q.get("per_page", "30")))
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            return 422, self.error_body(422, "invalid", "Validation Failed"), {}
        with self.lock:
            runs = [r for r in self.runs if "branch" not in q or r["head_branch"] == q["branch"]]
            chunk = [dict(r) for r in runs[(page - 1) * per_page : page * per_page]]
        last = max(1, -(-len(runs) // per_page))
        headers: dict[str, str] = {}
        base = f"{self.base_url}{request.url.path}?branch={q.get('branch', '')}&per_page={per_page}"
        links = []
        if page < last:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
            links.append(f'<{base}&page={last}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, {"total_count": len(runs), "workflow_runs": chunk}, headers
