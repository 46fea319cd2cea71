"""``alerting.silences``: no active or pending silence matches every alert (read from the
state database with the real silence store)."""

from __future__ import annotations

import asyncio

from watchkeeper.alerting.silences import Silences, SilenceState, matches_every_alert
from watchkeeper.core.clock import rfc3339
from watchkeeper.readiness.check import Check, CheckContext, failed, passed, skipped
from watchkeeper.readiness.model import Category, Verdict
from watchkeeper.readiness.statedb import StateUnavailable, state_database


class NoCatchAllSilence(Check):
    id = "alerting.silences"
    category = Category.ALERTING
    title = "No silence matches everything"

    async def run(self, ctx: CheckContext) -> Verdict:
        try:
            with state_database(ctx.loaded) as db:
                store = Silences(db)
                await asyncio.to_thread(store.load)
        except StateUnavailable as exc:
            return skipped(str(exc))
        now = ctx.clock.now()
        live = [s for s in store.all() if s.state(now) is not SilenceState.EXPIRED]
        broad = [s for s in live if matches_every_alert(s.matchers)]
        if broad:
            listed = "; ".join(
                f"{s.id} {s.describe()} by {s.created_by} until {rfc3339(s.ends_at)} "
                f"({s.comment or 'no comment'})"
                for s in broad
            )
            return failed(
                f"{len(broad)} silence(s) mute every alert: {listed}",
                "expire them on the dashboard's silences page (or `amtool silence expire ID`) "
                'and silence only what is meant, e.g. service="backend"',
            )
        return passed(f"{len(live)} active or pending silences; none matches every alert")
