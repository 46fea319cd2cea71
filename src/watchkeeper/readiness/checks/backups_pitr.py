"""``backups.pitr``: point-in-time recovery is enabled where
``readiness.backups.require_pitr`` asks for it."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import platform_targets, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class PointInTimeRecovery(Check):
    id = "backups.pitr"
    category = Category.BACKUPS
    title = "Point-in-time recovery when required"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected, targets = await platform_targets(ctx, "supabase")
        required = ctx.settings.backups.require_pitr
        details = []
        for t in targets:
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            enabled = collected.value("watchkeeper_supabase_pitr_enabled", t) == 1.0
            if enabled:
                details.append(Detail(t.key, Status.PASS, "PITR enabled"))
            elif required:
                details.append(Detail(t.key, Status.FAIL, "PITR disabled, but required"))
            else:
                details.append(
                    Detail(t.key, Status.PASS, "PITR disabled (not required by the config)")
                )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="enable the PITR add-on (Project Settings > Add-ons) so the database "
            "can be restored to any second, not only to the last nightly backup",
            nothing="no supabase check is configured",
        )
