"""``cicd.vercel_production``: the newest Vercel production deployment is READY and is
the one serving production; when a GitHub check watches the project's repository, the
serving deployment's commit is the latest commit of that branch."""

from __future__ import annotations

from watchkeeper.collect.github.config import GithubCheckConfig
from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import platform_targets, unreadable
from watchkeeper.readiness.evidence import CollectedEvidence, TargetEvidence
from watchkeeper.readiness.model import Category, Detail, Status, Verdict

P = "watchkeeper_vercel"


class VercelProduction(Check):
    id = "cicd.vercel_production"
    category = Category.CICD
    title = "Production deployment is READY and current"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected, targets = await platform_targets(ctx, "vercel")
        details = []
        for t in targets:
            bad = unreadable(t)
            details.append(bad if bad is not None else _judge(collected, t))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="open the deployment on Vercel: fix a failed build and redeploy, or "
            "promote the newest READY deployment if production was rolled back on purpose",
            nothing="no vercel check is configured",
        )


def _judge(collected: CollectedEvidence, t: TargetEvidence) -> Detail:
    detail = t.status.detail
    state = detail.get("newest_state")
    newest = detail.get("newest_deployment")
    serving = detail.get("serving_deployment")
    if state != "READY":
        error = detail.get("newest_error")
        return Detail(
            t.key,
            Status.FAIL,
            f"newest production deployment {newest} is {state}" + (f": {error}" if error else ""),
        )
    if serving != newest:
        return Detail(
            t.key,
            Status.FAIL,
            f"production serves {serving}, not the newest READY deployment {newest} (rolled back?)",
        )
    commit = detail.get("serving_commit")
    repo = detail.get("repository")
    github = next(
        (
            g
            for g in collected.of_kind("github")
            if isinstance(g.scheduled.check, GithubCheckConfig) and g.scheduled.check.repo == repo
        ),
        None,
    )
    if github is None:
        shown = f"commit {commit[:10]}" if commit else "commit unknown"
        return Detail(
            t.key,
            Status.PASS,
            f"{newest} READY and serving; {shown} (no GitHub check watches "
            f"{repo or 'its repository'} to compare with)",
        )
    latest = github.status.detail.get("latest_commit")
    branch = (
        github.scheduled.check.branch
        if isinstance(github.scheduled.check, GithubCheckConfig)
        else "?"
    )
    if commit and latest and commit != latest:
        return Detail(
            t.key,
            Status.FAIL,
            f"production runs commit {commit[:10]} but the latest on {branch} is {latest[:10]}",
        )
    return Detail(
        t.key,
        Status.PASS,
        f"{newest} READY and serving commit {(commit or 'unknown')[:10]}, the latest of "
        f"{repo}@{branch}",
    )
