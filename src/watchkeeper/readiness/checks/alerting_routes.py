"""``alerting.routes_reach_receivers``: every alert rule, for every service it watches,
is routed by the real route tree to receivers that have at least one channel."""

from __future__ import annotations

from watchkeeper.alerting.routing import Route
from watchkeeper.readiness.check import Check, CheckContext, failed, from_details
from watchkeeper.readiness.checks.rules_support import alert_rules
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class RoutesReachReceivers(Check):
    id = "alerting.routes_reach_receivers"
    category = Category.ALERTING
    title = "Every rule's route ends at a receiver"

    async def run(self, ctx: CheckContext) -> Verdict:
        rules = await alert_rules(ctx)
        if not rules:
            return failed("no alert rules are loaded", "add alert rules (see the rules checks)")
        alerting = ctx.config.alerting
        root = Route(alerting.route)
        channels = {
            r.name: sorted({channel for channel, _, _ in r.integrations()})
            for r in alerting.receivers
        }
        service_labels = {s.name: s.labels for s in ctx.config.services}
        details = []
        routed: dict[str, int] = {}
        for rule in rules:
            problems: list[str] = []
            reached: set[str] = set()
            for service in sorted(rule.services) or [""]:
                labels = {**service_labels.get(service, {}), **rule.static_labels()}
                labels["alertname"] = rule.name
                if service:
                    labels["service"] = service
                for match in root.match(labels):
                    receiver = match.opts.receiver
                    if receiver not in channels:
                        problems.append(f"{service or 'any'} → {receiver!r} (not defined)")
                    elif not channels[receiver]:
                        problems.append(f"{service or 'any'} → {receiver} (has no channels)")
                    else:
                        reached.add(receiver)
                        routed[receiver] = routed.get(receiver, 0) + 1
            if problems:
                details.append(Detail(rule.name, Status.FAIL, "; ".join(problems)))
            else:
                via = ", ".join(f"{r} ({'+'.join(channels[r])})" for r in sorted(reached))
                details.append(Detail(rule.name, Status.PASS, f"→ {via}"))
        summary = ", ".join(f"{r}: {n}" for r, n in sorted(routed.items()))
        return from_details(
            details,
            ok=f"all {len(rules)} alert rules reach a receiver with channels ({summary})",
            remediation="give the receivers above a channel (e.g. slack_configs) or route "
            "the alerts elsewhere; `watchkeeper routes test --config FILE alertname=X "
            "service=Y` shows the route an alert takes",
            data={"alerts_per_receiver": routed},
        )
