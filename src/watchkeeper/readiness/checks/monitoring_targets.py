"""``monitoring.targets_up``: no target is down. A target refused for its credentials
(``CollectFailure.AUTH``) is reported as the configuration error it is."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.targets import target_views
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class TargetsUp(Check):
    id = "monitoring.targets_up"
    category = Category.MONITORING
    title = "No target is down"

    async def run(self, ctx: CheckContext) -> Verdict:
        views = await target_views(ctx)
        details = []
        auth = False
        for t in views.targets:
            if not t.observed:
                details.append(
                    Detail(t.key, Status.SKIP, "a push check: only a running instance knows it")
                )
            elif t.auth_error:
                auth = True
                details.append(
                    Detail(t.key, Status.FAIL, f"configuration error (credentials): {t.error}")
                )
            elif t.status == "up":
                details.append(Detail(t.key, Status.PASS, "up"))
            elif t.status == "unknown":
                details.append(Detail(t.key, Status.WARN, "not run yet"))
            else:
                details.append(Detail(t.key, Status.FAIL, t.error or t.status))
        remediation = (
            "fix what each error says; for a credentials error set a valid token in the "
            "check's token (or token_file) and reload"
            if auth
            else "fix what each error says (the service, its URL, or the check's assertions), "
            "then look again"
        )
        verdict = from_details(
            details,
            ok=f"all {len(details)} targets are up (evidence: {views.source})",
            remediation=remediation,
            nothing="no checks are configured",
        )
        return Verdict(
            verdict.status,
            verdict.evidence,
            verdict.remediation,
            verdict.details,
            {"source": views.source, "auth_errors": auth},
        )
