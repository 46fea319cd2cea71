"""``alerting.escalation``: escalation policies exist, are used by routes, have at least
``readiness.alerting.escalation_min_levels`` levels whose receivers have channels, reach
the first level within ``first_response`` and the last within ``escalation_deadline``
(counting the route's ``group_wait`` and each level's ``after``)."""

from __future__ import annotations

from watchkeeper.alerting.routing import Route
from watchkeeper.core.durations import format_duration
from watchkeeper.readiness.check import Check, CheckContext, failed, from_details
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class EscalationPolicies(Check):
    id = "alerting.escalation"
    category = Category.ALERTING
    title = "Escalation reaches a human in time"

    async def run(self, ctx: CheckContext) -> Verdict:
        alerting = ctx.config.alerting
        settings = ctx.settings.alerting
        policies = alerting.escalation_policies
        if not policies:
            return failed(
                "no escalation policy: an unacknowledged page stays with its first receiver",
                "add alerting.escalation_policies with at least "
                f"{settings.escalation_min_levels} levels (e.g. on-call, then the team lead "
                "after 15m) and set escalation_policy: on the root route",
            )
        waits: dict[str, float] = {}
        for route in Route(alerting.route).walk():
            used = route.opts.escalation_policy
            if used:
                waits[used] = max(waits.get(used, 0.0), route.opts.group_wait)
        channels = {r.name: len(r.integrations()) for r in alerting.receivers}
        details = []
        for policy in policies:
            problems: list[str] = []
            warnings: list[str] = []
            if policy.name not in waits:
                warnings.append("no route uses it (set escalation_policy: on a route)")
            if len(policy.levels) < settings.escalation_min_levels:
                problems.append(
                    f"{len(policy.levels)} level(s); at least {settings.escalation_min_levels} "
                    "are needed so someone else is paged when the first does not answer"
                )
            at = waits.get(policy.name, 0.0)
            steps = []
            for n, level in enumerate(policy.levels, start=1):
                at += float(level.after)
                steps.append(f"L{n} {'+'.join(level.receivers)} at {format_duration(at)}")
                for name in level.receivers:
                    if channels.get(name, 0) == 0:
                        problems.append(f"level {n}: receiver {name} has no channels")
                if n == 1 and at > float(settings.first_response):
                    problems.append(
                        f"the first level is reached after {format_duration(at)}, later than "
                        f"first_response {format_duration(float(settings.first_response))}"
                    )
            if at > float(settings.escalation_deadline):
                problems.append(
                    f"the last level is reached after {format_duration(at)}, later than the "
                    f"deadline {format_duration(float(settings.escalation_deadline))}"
                )
            text = "; ".join(steps)
            if problems:
                details.append(Detail(policy.name, Status.FAIL, f"{'; '.join(problems)} ({text})"))
            elif warnings:
                details.append(Detail(policy.name, Status.WARN, f"{'; '.join(warnings)} ({text})"))
            else:
                details.append(Detail(policy.name, Status.PASS, text))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="give each policy enough levels with receivers that have channels, "
            "shorten the after: delays, and use it from a route",
        )
