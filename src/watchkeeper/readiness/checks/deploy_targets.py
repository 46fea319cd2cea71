"""``deploy.rollback_targets``: production can be rolled back — Vercel has an earlier
READY production deployment and Render an earlier deploy that was live (from the
collectors' status detail)."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import hours, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class RollbackTargets(Check):
    id = "deploy.rollback_targets"
    category = Category.DEPLOY
    title = "A previous healthy deployment exists to roll back to"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected = await ctx.evidence.collected()
        now = ctx.clock.now()
        details = []
        for t in collected.of_kind("vercel") + collected.of_kind("render"):
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            detail = t.status.detail
            candidate = detail.get("rollback_candidate")
            if candidate is None:
                what = (
                    "no earlier READY production deployment"
                    if t.kind == "vercel"
                    else "no earlier deploy that was live"
                )
                details.append(Detail(t.key, Status.FAIL, f"{what} to roll back to"))
                continue
            when = detail.get("rollback_candidate_created") or detail.get(
                "rollback_candidate_finished"
            )
            age = f", {hours(now - float(when))} old" if isinstance(when, int | float) else ""
            details.append(
                Detail(t.key, Status.PASS, f"{t.kind}: can roll back to {candidate}{age}")
            )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="keep at least one earlier healthy deployment (do not delete old "
            "deployments, fix failing builds); a first deployment has nothing to go back to",
            nothing="no vercel or render check is configured",
        )
