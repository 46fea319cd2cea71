"""``monitoring.services_have_checks``: every declared service has at least one enabled
check (a service nobody collects from can break unnoticed)."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, failed, from_details
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class ServicesHaveChecks(Check):
    id = "monitoring.services_have_checks"
    category = Category.MONITORING
    title = "Every service has checks"

    async def run(self, ctx: CheckContext) -> Verdict:
        services = ctx.config.services
        if not services:
            return failed(
                "no services are declared",
                "declare each service under services: with at least one check "
                "(`watchkeeper init` writes a starter config)",
            )
        details = []
        for svc in services:
            enabled = [c for c in svc.checks if c.enabled]
            if enabled:
                kinds = ", ".join(sorted({c.type for c in enabled}))
                details.append(Detail(svc.name, Status.PASS, f"{len(enabled)} checks ({kinds})"))
            elif svc.checks:
                details.append(Detail(svc.name, Status.FAIL, "every check is disabled"))
            else:
                details.append(Detail(svc.name, Status.FAIL, "no checks"))
        return from_details(
            details,
            ok=f"all {len(services)} services have enabled checks",
            remediation="add at least an http check (its URL, e.g. /health) to each service "
            "listed above, or enable its disabled checks",
        )
