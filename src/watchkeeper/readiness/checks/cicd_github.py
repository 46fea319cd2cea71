"""``cicd.github_latest_run``: the latest completed GitHub Actions run on each watched
branch (the default branch unless the check says otherwise) succeeded."""

from __future__ import annotations

from watchkeeper.collect.github.config import GithubCheckConfig
from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import platform_targets, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class LatestRunSucceeded(Check):
    id = "cicd.github_latest_run"
    category = Category.CICD
    title = "The latest CI run on the default branch succeeded"

    async def run(self, ctx: CheckContext) -> Verdict:
        _, targets = await platform_targets(ctx, "github")
        details = []
        for t in targets:
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            check = t.scheduled.check
            where = (
                f"{check.repo}@{check.branch}" if isinstance(check, GithubCheckConfig) else t.key
            )
            detail = t.status.detail
            conclusion = detail.get("latest_conclusion")
            title = detail.get("latest_title") or ""
            link = detail.get("latest_run") or ""
            if conclusion is None:
                details.append(Detail(where, Status.WARN, "no completed run yet"))
            elif conclusion == "success":
                details.append(Detail(where, Status.PASS, f"success: {title} {link}".strip()))
            else:
                streak = detail.get("failure_streak", 0)
                details.append(
                    Detail(
                        where,
                        Status.FAIL,
                        f"{conclusion}: {title} {link} ({streak} failing run(s) in a row)",
                    )
                )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="open the failing run, fix the build or the tests, and push; do not "
            "deploy from a red default branch",
            nothing="no github check is configured",
        )
