"""``backups.newest_backup``: the newest completed Supabase backup (or, with PITR, the
latest physical backup) is younger than ``readiness.backups.max_age``, as the Supabase
collector reads it."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import hours, platform_targets, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class NewestBackup(Check):
    id = "backups.newest_backup"
    category = Category.BACKUPS
    title = "The newest backup is recent"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected, targets = await platform_targets(ctx, "supabase")
        limit = float(ctx.settings.backups.max_age)
        details = []
        ages = {}
        for t in targets:
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            age = collected.value("watchkeeper_supabase_newest_backup_age_seconds", t)
            if age is None:
                details.append(Detail(t.key, Status.FAIL, "no completed backup at all"))
                continue
            ages[t.key] = age
            status = Status.PASS if age <= limit else Status.FAIL
            details.append(
                Detail(t.key, status, f"newest backup {hours(age)} old (limit {hours(limit)})")
            )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="look at the project's Database > Backups page: a failed or missing "
            "nightly backup needs Supabase support; meanwhile take a pg_dump yourself",
            nothing="no supabase check is configured, so no backup can be looked at",
            data={"age_seconds": ages, "limit_seconds": limit},
        )
