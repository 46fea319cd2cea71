"""The rollback drill on a staging target: roll back to the previous healthy deployment
through the platform's API, verify health, roll forward to the original, verify again.

Calls go through the collectors' own API clients (auth, rate limits, error reasons):

* Vercel: ``POST /v9/projects/{id}/rollback/{deployment}`` (Instant Rollback, as the
  Vercel CLI calls it), ``POST /v10/projects/{id}/promote/{deployment}`` to go forward;
  each move is followed in ``project.lastAliasRequest`` until ``jobStatus`` is succeeded.
* Render: ``POST /services/{id}/rollback`` with ``{"deployId"}`` for both directions; the
  new deploy is followed through ``GET /services/{id}/deploys/{deployId}`` until live.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from watchkeeper.collect.base import TargetError
from watchkeeper.collect.render.collector import RenderCollector
from watchkeeper.collect.vercel.collector import VercelCollector
from watchkeeper.core.clock import Clock

POLL_SECONDS = 0.5
RENDER_FAILED = frozenset({"build_failed", "update_failed", "pre_deploy_failed", "canceled"})


class DrillFailed(Exception):
    """A step of the drill failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    seconds: float
    evidence: str


class _Drill:
    def __init__(
        self, http: httpx.AsyncClient, clock: Clock, health_url: str | None, timeout: float
    ) -> None:
        self.http = http
        self.clock = clock
        self.health_url = health_url
        self.timeout = timeout
        self.steps: list[Step] = []

    async def step(self, name: str, action: Callable[[], Awaitable[str]]) -> None:
        t0 = self.clock.monotonic()
        try:
            evidence = await action()
        except TargetError as exc:
            raise DrillFailed(f"{name}: {exc}") from None
        self.steps.append(Step(name, self.clock.monotonic() - t0, evidence))

    async def wait(self, what: str, done: Callable[[], Awaitable[bool]]) -> None:
        deadline = self.clock.monotonic() + self.timeout
        while not await done():
            if self.clock.monotonic() >= deadline:
                raise DrillFailed(f"{what} did not finish within {self.timeout:g}s")
            await self.clock.sleep(POLL_SECONDS)

    async def health(self) -> str:
        if self.health_url is None:
            return "no health URL to check"
        try:
            resp = await self.http.get(self.health_url, timeout=10.0)
        except httpx.HTTPError as exc:
            raise DrillFailed(f"health check {self.health_url}: no answer ({exc})") from None
        if not resp.is_success:
            raise DrillFailed(f"health check {self.health_url} answered HTTP {resp.status_code}")
        return f"{self.health_url} answered HTTP {resp.status_code}"


async def vercel_drill(
    collector: VercelCollector,
    *,
    http: httpx.AsyncClient,
    clock: Clock,
    health_url: str | None,
    step_limit: float,
) -> list[Step]:
    cfg = collector.config
    client = collector.client
    client.start_run(step_limit * 5)
    team = {"teamId": cfg.team_id} if cfg.team_id else {}
    drill = _Drill(http, clock, health_url, step_limit)
    project = await _json(client.get_json(f"/v9/projects/{cfg.project}", team))
    pid = str(project.get("id"))
    original = str(((project.get("targets") or {}).get("production") or {}).get("id") or "")
    if not original:
        raise DrillFailed("the project has no production deployment to roll back from")
    page = await _json(
        client.get_json(
            "/v6/deployments", {**team, "projectId": pid, "target": "production", "limit": 20}
        )
    )
    candidates = [
        d
        for d in page.get("deployments") or []
        if (d.get("readyState") or d.get("state")) == "READY" and d.get("uid") != original
    ]
    if not candidates:
        raise DrillFailed("no earlier READY production deployment to roll back to")
    previous = str(candidates[0]["uid"])

    async def serving_is(uid: str) -> bool:
        body = await _json(client.get_json(f"/v9/projects/{pid}", team))
        req = body.get("lastAliasRequest") or {}
        if req.get("jobStatus") == "failed":
            raise DrillFailed(f"Vercel reports the move to {uid} failed")
        now = ((body.get("targets") or {}).get("production") or {}).get("id")
        return bool(now == uid and req.get("jobStatus") in ("succeeded", None))

    async def move(path: str, uid: str) -> str:
        resp = await client.post(path, {}, team or None)
        await drill.wait(f"moving production to {uid}", lambda: serving_is(uid))
        return f"HTTP {resp.status_code}; production serves {uid}"

    await drill.step("roll back", lambda: move(f"/v9/projects/{pid}/rollback/{previous}", previous))
    await drill.step("health after rollback", drill.health)
    await drill.step(
        "roll forward", lambda: move(f"/v10/projects/{pid}/promote/{original}", original)
    )
    await drill.step("health after roll forward", drill.health)
    return drill.steps


async def render_drill(
    collector: RenderCollector,
    *,
    http: httpx.AsyncClient,
    clock: Clock,
    health_url: str | None,
    step_limit: float,
) -> list[Step]:
    sid = collector.config.service_id
    client = collector.client
    client.start_run(step_limit * 5)
    drill = _Drill(http, clock, health_url, step_limit)
    page = await client.get_json(f"/services/{sid}/deploys", {"limit": 20})
    deploys = [w["deploy"] for w in page if isinstance(w, dict) and "deploy" in w]
    live = next((d for d in deploys if d.get("status") == "live"), None)
    if live is None:
        raise DrillFailed("the service has no live deploy to roll back from")
    older = deploys[deploys.index(live) + 1 :]
    previous = next((d for d in older if d.get("status") == "deactivated"), None)
    if previous is None:
        raise DrillFailed("no earlier deploy that was live to roll back to")

    async def to(deploy_id: str) -> str:
        resp = await client.post(f"/services/{sid}/rollback", {"deployId": deploy_id})
        new_id = str(_as_dict(resp.json()).get("id"))

        async def is_live() -> bool:
            dep = await _json(client.get_json(f"/services/{sid}/deploys/{new_id}"))
            status = dep.get("status")
            if status in RENDER_FAILED:
                raise DrillFailed(f"the rollback deploy {new_id} ended {status}")
            return bool(status == "live")

        await drill.wait(f"deploy {new_id} (of {deploy_id})", is_live)
        return f"deploy {new_id} of {deploy_id} is live"

    await drill.step("roll back", lambda: to(str(previous["id"])))
    await drill.step("health after rollback", drill.health)
    await drill.step("roll forward", lambda: to(str(live["id"])))
    await drill.step("health after roll forward", drill.health)
    return drill.steps


async def _json(call: Awaitable[Any]) -> dict[str, Any]:
    return _as_dict(await call)


def _as_dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DrillFailed("the platform API answered an unexpected body")
    return body
