"""The Vercel collector (see the package docstring for its series)."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.collect.apiclient import ApiClient, ApiSpec
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.platform import PlatformCollector, parse_time, sample, state_set
from watchkeeper.collect.vercel.config import VercelCheckConfig

STATES = ("QUEUED", "INITIALIZING", "BUILDING", "READY", "ERROR", "CANCELED", "BLOCKED")
IN_PROGRESS = frozenset({"QUEUED", "INITIALIZING", "BUILDING"})
P = "watchkeeper_vercel"


class VercelCollector(PlatformCollector):
    kind: ClassVar[str] = "vercel"
    prefix: ClassVar[str] = P

    def __init__(self, config: VercelCheckConfig, deps: CollectorDeps) -> None:
        spec = ApiSpec(name="Vercel", base_url=config.base_url)
        client = ApiClient(
            spec, deps.http, deps.clock, config.token.reveal(), call_timeout=config.call_timeout
        )
        super().__init__(client)
        self.config = config

    def _params(self, **params: Any) -> dict[str, Any]:
        if self.config.team_id:
            params["teamId"] = self.config.team_id
        return params

    async def read(self, ctx: CollectContext) -> tuple[list[SampleOut], dict[str, Any]]:
        cfg = self.config
        now = ctx.clock.now()
        project = await self.client.get_json(f"/v9/projects/{cfg.project}", self._params())
        if not isinstance(project, dict) or "id" not in project:
            raise TargetError(
                "Vercel API answered an unexpected project object", CollectFailure.BAD_RESPONSE
            )
        deployments = await self._deployments(str(project["id"]))
        out: list[SampleOut] = []
        detail: dict[str, Any] = {"project": project.get("name"), "deployments": len(deployments)}
        newest = deployments[0] if deployments else None
        newest_state = _state(newest) if newest else None
        out += state_set(f"{P}_production_deployment_state", "state", newest_state, STATES)
        out.append(sample(f"{P}_production_deployment_failed", newest_state == "ERROR"))
        in_progress = 0.0
        if newest is not None:
            created = parse_time(newest.get("createdAt") or newest.get("created")) or now
            out.append(sample(f"{P}_newest_deployment_age_seconds", max(0.0, now - created)))
            if newest_state in IN_PROGRESS:
                in_progress = max(0.0, now - created)
            detail.update(
                newest_deployment=newest.get("uid") or newest.get("id"),
                newest_state=newest_state,
                newest_url=newest.get("url"),
            )
            if newest_state == "ERROR":
                detail["newest_error"] = newest.get("errorMessage") or newest.get("errorCode")
        out.append(sample(f"{P}_deployment_in_progress_seconds", in_progress))
        finished = next((d for d in deployments if _state(d) in ("READY", "ERROR")), None)
        if finished is not None:
            start = parse_time(finished.get("buildingAt"))
            end = parse_time(finished.get("ready")) or parse_time(finished.get("buildErrorAt"))
            if start is not None and end is not None and end >= start:
                out.append(sample(f"{P}_build_duration_seconds", end - start))
        counts = {s: 0 for s in STATES}
        for d in deployments:
            state = _state(d)
            if state in counts:
                counts[state] += 1
        out += [sample(f"{P}_deployments", n, state=s) for s, n in counts.items()]
        out.append(sample(f"{P}_failed_deployments", counts["ERROR"]))
        out.append(sample(f"{P}_canceled_deployments", counts["CANCELED"]))
        out += self._serving(project, newest, now, detail)
        _deploy_detail(project, deployments, detail)
        if cfg.check_domains:
            out += await self._domains(str(project["id"]), detail)
        return out, detail

    def _serving(
        self,
        project: dict[str, Any],
        newest: dict[str, Any] | None,
        now: float,
        detail: dict[str, Any],
    ) -> list[SampleOut]:
        targets = project.get("targets")
        serving = targets.get("production") if isinstance(targets, dict) else None
        if not isinstance(serving, dict) or not serving.get("id"):
            return []
        serving_id = str(serving["id"])
        detail["serving_deployment"] = serving_id
        out = [
            sample(
                f"{P}_serving_deployment_info",
                1,
                deployment_id=serving_id,
                url=str(serving.get("url") or ""),
            )
        ]
        created = parse_time(serving.get("createdAt"))
        if created is not None:
            out.append(sample(f"{P}_production_deployment_age_seconds", max(0.0, now - created)))
        if newest is not None:
            newest_id = newest.get("uid") or newest.get("id")
            out.append(sample(f"{P}_serving_is_newest", newest_id == serving_id))
        return out

    async def _deployments(self, project_id: str) -> list[dict[str, Any]]:
        cfg = self.config
        found: list[dict[str, Any]] = []
        until: Any = None
        for _ in range(cfg.max_pages):
            params = self._params(
                projectId=project_id, target="production", limit=min(100, cfg.deployments)
            )
            if until is not None:
                params["until"] = until
            page = await self.client.get_json("/v6/deployments", params)
            items = page.get("deployments") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise TargetError(
                    "Vercel API /v6/deployments answered without a deployments list",
                    CollectFailure.BAD_RESPONSE,
                )
            found += [d for d in items if isinstance(d, dict)]
            until = (page.get("pagination") or {}).get("next")
            if until is None or len(found) >= cfg.deployments:
                break
        found.sort(
            key=lambda d: parse_time(d.get("createdAt") or d.get("created")) or 0.0, reverse=True
        )
        return found[: cfg.deployments]

    async def _domains(self, project_id: str, detail: dict[str, Any]) -> list[SampleOut]:
        out: list[SampleOut] = []
        until: Any = None
        unverified: list[str] = []
        for _ in range(self.config.max_pages):
            params = self._params(production="true", limit=100)
            if until is not None:
                params["until"] = until
            page = await self.client.get_json(f"/v9/projects/{project_id}/domains", params)
            for domain in page.get("domains", []) if isinstance(page, dict) else []:
                if not isinstance(domain, dict) or "name" not in domain:
                    continue
                verified = bool(domain.get("verified"))
                if not verified:
                    unverified.append(str(domain["name"]))
                out.append(sample(f"{P}_domain_verified", verified, domain=str(domain["name"])))
            until = (page.get("pagination") or {}).get("next") if isinstance(page, dict) else None
            if until is None:
                break
        if unverified:
            detail["unverified_domains"] = unverified
        return out


def _deploy_detail(
    project: dict[str, Any], deployments: list[dict[str, Any]], detail: dict[str, Any]
) -> None:
    """What readiness reads: the repository, the commits of the newest and the serving
    deployment (``meta.githubCommitSha``) and the newest other READY production deployment
    production could be rolled back to."""
    link = project.get("link")
    if isinstance(link, dict) and link.get("org") and link.get("repo"):
        detail["repository"] = f"{link['org']}/{link['repo']}"
    serving = detail.get("serving_deployment")
    for d in deployments:
        commit = _commit(d)
        if (d.get("uid") or d.get("id")) == serving and commit:
            detail["serving_commit"] = commit
    if deployments and _commit(deployments[0]):
        detail["newest_commit"] = _commit(deployments[0])
    candidates = [
        d for d in deployments if _state(d) == "READY" and (d.get("uid") or d.get("id")) != serving
    ]
    detail["rollback_candidates"] = len(candidates)
    if candidates:
        best = candidates[0]
        detail["rollback_candidate"] = best.get("uid") or best.get("id")
        detail["rollback_candidate_url"] = best.get("url")
        detail["rollback_candidate_created"] = parse_time(
            best.get("createdAt") or best.get("created")
        )


def _commit(deployment: dict[str, Any]) -> str | None:
    meta = deployment.get("meta")
    sha = meta.get("githubCommitSha") if isinstance(meta, dict) else None
    return str(sha) if sha else None


def _state(deployment: dict[str, Any] | None) -> str | None:
    if deployment is None:
        return None
    state = deployment.get("readyState") or deployment.get("state")
    return str(state) if state else None
