"""``deploy.rollback_drill``: with ``--rollback-drill``, each staging target in
``readiness.deploy.rollback_drill`` is actually rolled back and forward through its
platform's API, with its health checked in between (:mod:`watchkeeper.readiness.rollback`)."""

from __future__ import annotations

from watchkeeper.collect.base import CollectorDeps
from watchkeeper.collect.registry import build_collector
from watchkeeper.collect.render.collector import RenderCollector
from watchkeeper.collect.targets import build_targets
from watchkeeper.collect.vercel.collector import VercelCollector
from watchkeeper.readiness.check import Check, CheckContext, from_details, skipped
from watchkeeper.readiness.model import Category, Detail, Status, Verdict
from watchkeeper.readiness.rollback import DrillFailed, render_drill, vercel_drill


class RollbackDrill(Check):
    id = "deploy.rollback_drill"
    category = Category.DEPLOY
    title = "Rollback drill on staging"
    timeout = 600.0

    async def run(self, ctx: CheckContext) -> Verdict:
        targets = ctx.settings.deploy.rollback_drill
        if not ctx.options.rollback_drill:
            return skipped(
                "not asked to drill (it really rolls back and forward)",
                "run `watchkeeper validate --rollback-drill` against staging targets listed "
                "in readiness.deploy.rollback_drill",
            )
        if not targets:
            return skipped(
                "no staging target to drill",
                "list staging targets in readiness.deploy.rollback_drill (service and its "
                "vercel or render check); never a production one",
            )
        scheduled = {st.key: st for st in build_targets(ctx.config)}
        timeout = float(ctx.settings.deploy.drill_timeout)
        details: list[Detail] = []
        timings: dict[str, dict[str, float]] = {}
        for target in targets:
            key = f"{target.service}/{target.check}"
            st = scheduled.get(key)
            if st is None:
                details.append(Detail(key, Status.FAIL, "no such enabled check"))
                continue
            svc = ctx.config.service(target.service)
            health = target.health_url or (svc.url if svc else None)
            collector = build_collector(st, CollectorDeps(clock=ctx.clock, http=ctx.http))
            try:
                if isinstance(collector, VercelCollector):
                    steps = await vercel_drill(
                        collector,
                        http=ctx.http,
                        clock=ctx.clock,
                        health_url=health,
                        step_limit=timeout,
                    )
                elif isinstance(collector, RenderCollector):
                    steps = await render_drill(
                        collector,
                        http=ctx.http,
                        clock=ctx.clock,
                        health_url=health,
                        step_limit=timeout,
                    )
                else:
                    details.append(Detail(key, Status.FAIL, "not a vercel or render check"))
                    continue
            except DrillFailed as exc:
                details.append(Detail(key, Status.FAIL, str(exc)))
                continue
            finally:
                await collector.close()
            timings[key] = {s.name: round(s.seconds, 3) for s in steps}
            text = "; ".join(f"{s.name} in {s.seconds:.1f}s ({s.evidence})" for s in steps)
            details.append(Detail(key, Status.PASS, text))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="a rollback that fails in a drill fails in an incident: check the "
            "platform's deploy log for the failing step and the target's credentials",
            data={"steps_seconds": timings},
        )
