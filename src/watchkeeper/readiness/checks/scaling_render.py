"""``scaling.render_autoscaling``: for production Render services, autoscaling is on with
a minimum of at least ``readiness.scaling.min_instances``, the running instances are
within the bounds, and the plan is not a free tier."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.platform import platform_targets, production, unreadable
from watchkeeper.readiness.model import Category, Detail, Status, Verdict

P = "watchkeeper_render"


class RenderScaling(Check):
    id = "scaling.render_autoscaling"
    category = Category.SCALING
    title = "Render services scale and are not on a free plan"

    async def run(self, ctx: CheckContext) -> Verdict:
        collected, targets = await platform_targets(ctx, "render")
        settings = ctx.settings.scaling
        details = []
        for t in targets:
            bad = unreadable(t)
            if bad is not None:
                details.append(bad)
                continue
            enabled = collected.value(f"{P}_autoscaling_enabled", t) == 1.0
            low = collected.value(f"{P}_autoscaling_min_instances", t)
            high = collected.value(f"{P}_autoscaling_max_instances", t)
            running = collected.value(f"{P}_instances", t)
            plan = t.status.detail.get("plan")
            prod = production(ctx, t.service)
            problems = []
            if prod and not enabled:
                problems.append("autoscaling is off")
            if prod and (low is None or low < settings.min_instances):
                problems.append(f"minimum {low or 0:g} instances, below {settings.min_instances}")
            if (
                running is not None
                and low is not None
                and high is not None
                and not low <= running <= high
            ):
                problems.append(f"{running:g} instances running, outside {low:g}..{high:g}")
            if plan in settings.free_plans:
                problems.append(f"plan {plan!r} is a free tier (spins down, no SLA)")
            text = (
                f"{'autoscaling' if enabled else 'fixed'} {low or 0:g}..{high or 0:g}, "
                f"{f'{running:g}' if running is not None else '?'} running, plan "
                f"{plan or 'unknown'}{'' if prod else ' (not production)'}"
            )
            if problems:
                details.append(Detail(t.key, Status.FAIL, f"{'; '.join(problems)} ({text})"))
            else:
                details.append(Detail(t.key, Status.PASS, text))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="on Render, open the service's Scaling settings: enable autoscaling "
            f"with a minimum of {settings.min_instances}, and move off a free plan",
            nothing="no render check is configured",
        )
