"""``monitoring.collectors_fresh``: every collector produced data recently — within
``readiness.monitoring.max_age_intervals`` (2) intervals on a running instance, or in the
validator's own run of the collectors when no instance answers."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.targets import ago, target_views
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class CollectorsFresh(Check):
    id = "monitoring.collectors_fresh"
    category = Category.MONITORING
    title = "Every collector produced data recently"

    async def run(self, ctx: CheckContext) -> Verdict:
        views = await target_views(ctx)
        limit = ctx.settings.monitoring.max_age_intervals
        now = ctx.clock.now()
        details = []
        for t in views.targets:
            if not t.observed:
                details.append(
                    Detail(t.key, Status.SKIP, "a push check: only a running instance knows it")
                )
            elif t.status == "missing":
                details.append(Detail(t.key, Status.FAIL, t.error or "not running"))
            elif views.live:
                if t.last_success is None:
                    details.append(
                        Detail(t.key, Status.FAIL, f"never succeeded ({t.error or 'no run yet'})")
                    )
                    continue
                age = max(0.0, now - t.last_success)
                allowed = limit * t.interval
                status = Status.PASS if age <= allowed else Status.FAIL
                details.append(
                    Detail(
                        t.key,
                        status,
                        f"last data {ago(age)} ago (allowed {ago(allowed)}: "
                        f"{limit:g} × {t.interval:g}s)",
                    )
                )
            elif t.up:
                details.append(Detail(t.key, Status.PASS, f"{t.samples} samples just now"))
            else:
                details.append(Detail(t.key, Status.FAIL, f"no data: {t.error}"))
        verdict = from_details(
            details,
            ok=f"all {len(details)} targets produced data (evidence: {views.source})",
            remediation="open each target above on the dashboard; its error says why it "
            "produces no data (credentials, URL, network, a stopped scheduler)",
            nothing="no checks are configured",
        )
        return Verdict(
            verdict.status,
            verdict.evidence,
            verdict.remediation,
            verdict.details,
            {"source": views.source, "live": views.live},
        )
