"""``scaling.supabase_connections``: connections in use stay below
``readiness.scaling.max_connection_usage`` of the maximum (from the Supabase project's
metrics endpoint, read by the Supabase collector)."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import platform_targets, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class ConnectionHeadroom(Check):
    id = "scaling.supabase_connections"
    category = Category.SCALING
    title = "Database connection headroom"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected, targets = await platform_targets(ctx, "supabase")
        limit = ctx.settings.scaling.max_connection_usage
        details = []
        for t in targets:
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            sel = f'service="{t.service}",check="{t.scheduled.target.name}"'
            used = collected.samples(f"sum(connection_stats_connection_count{{{sel}}})")
            most = collected.samples(f"max(max_connections_connection_count{{{sel}}})")
            if not used or not most:
                details.append(
                    Detail(
                        t.key,
                        Status.SKIP,
                        "no connection metrics: set the check's service_role_key to read the "
                        "project's metrics endpoint",
                    )
                )
                continue
            n, m = used[0][1], most[0][1]
            share = n / m if m else 1.0
            status = Status.PASS if share <= limit else Status.FAIL
            details.append(
                Detail(
                    t.key,
                    status,
                    f"{n:g} of {m:g} connections in use ({share:.0%}, limit {limit:.0%})",
                )
            )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="use the connection pooler (Supavisor, port 6543) for the app, lower "
            "the app's pool size, or move to a larger compute size",
            nothing="no supabase check is configured",
        )
