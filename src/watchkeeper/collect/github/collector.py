"""The GitHub Actions collector (see the package docstring for its series)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from watchkeeper.collect.apiclient import ApiClient, ApiSpec
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.github.config import GithubCheckConfig
from watchkeeper.collect.platform import PlatformCollector, parse_time, sample, state_set

P = "watchkeeper_github"
CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "action_required", "skipped")
NEUTRAL = frozenset({"cancelled", "skipped", "neutral", "stale"})
_NEXT_RE = re.compile(r'<([^>]+)>;\s*rel="next"')


class GithubCollector(PlatformCollector):
    kind: ClassVar[str] = "github"
    prefix: ClassVar[str] = P

    def __init__(self, config: GithubCheckConfig, deps: CollectorDeps) -> None:
        spec = ApiSpec(
            name="GitHub",
            base_url=config.base_url,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        client = ApiClient(
            spec, deps.http, deps.clock, config.token.reveal(), call_timeout=config.call_timeout
        )
        super().__init__(client)
        self.config = config

    async def read(self, ctx: CollectContext) -> tuple[list[SampleOut], dict[str, Any]]:
        cfg = self.config
        now = ctx.clock.now()
        path = (
            f"/repos/{cfg.repo}/actions/workflows/{cfg.workflow}/runs"
            if cfg.workflow
            else f"/repos/{cfg.repo}/actions/runs"
        )
        params: dict[str, Any] | None = {"branch": cfg.branch, "per_page": cfg.per_page}
        runs: list[dict[str, Any]] = []
        url: str = path
        streak_ended = False
        for _ in range(cfg.max_pages):
            resp = await self.client.get(url, params)
            page = self.client.decode(resp, path)
            items = page.get("workflow_runs") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise TargetError(
                    f"GitHub API {path} answered without workflow_runs",
                    CollectFailure.BAD_RESPONSE,
                )
            runs += [r for r in items if isinstance(r, dict)]
            streak_ended = any(r.get("conclusion") == "success" for r in runs)
            link = _NEXT_RE.search(resp.headers.get("link", ""))
            if streak_ended or link is None:
                break
            url, params = link.group(1), None
        labels = {"workflow": cfg.workflow or "all", "branch": cfg.branch}
        completed = [r for r in runs if r.get("status") == "completed"]
        in_progress = sum(1 for r in runs if r.get("status") not in ("completed", None))
        out: list[SampleOut] = [sample(f"{P}_runs_in_progress", in_progress, **labels)]
        detail: dict[str, Any] = {"runs_read": len(runs)}
        if runs and runs[0].get("head_sha"):
            detail["latest_commit"] = runs[0]["head_sha"]
        latest = completed[0] if completed else None
        conclusion = str(latest.get("conclusion") or "") if latest else None
        out += [
            ({**lbls, **labels}, value, ts)
            for lbls, value, ts in state_set(
                f"{P}_latest_run_conclusion", "conclusion", conclusion, CONCLUSIONS
            )
        ]
        if latest is not None:
            out.append(sample(f"{P}_latest_run_success", conclusion == "success", **labels))
            started = parse_time(latest.get("run_started_at") or latest.get("created_at"))
            finished = parse_time(latest.get("updated_at"))
            if started is not None and finished is not None and finished >= started:
                out.append(sample(f"{P}_latest_run_duration_seconds", finished - started, **labels))
            if finished is not None:
                out.append(
                    sample(f"{P}_latest_run_age_seconds", max(0.0, now - finished), **labels)
                )
            detail.update(
                latest_run=latest.get("html_url"),
                latest_conclusion=conclusion,
                latest_title=latest.get("display_title"),
            )
        streak = 0
        for run in completed:
            c = run.get("conclusion")
            if c == "success":
                break
            if c not in NEUTRAL:
                streak += 1
        out.append(sample(f"{P}_failure_streak", streak, **labels))
        detail["failure_streak"] = streak
        if not streak_ended and streak and len(runs) >= cfg.per_page:
            detail["failure_streak_at_least"] = True
        return out, detail
