"""``alerting.rules_cover_services``: every service has alert rules watching it."""

from __future__ import annotations

from watchkeeper.readiness.check import Check, CheckContext, failed, from_details
from watchkeeper.readiness.checks.rules_support import alert_rules
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class RulesCoverServices(Check):
    id = "alerting.rules_cover_services"
    category = Category.ALERTING
    title = "Every service has alert rules"

    async def run(self, ctx: CheckContext) -> Verdict:
        rules = await alert_rules(ctx)
        if not rules:
            return failed(
                "no alert rules are loaded: nothing can page anyone",
                "enable rule packs for each service (rule_packs: [http, ...]) or list rule "
                "files under rule_files",
            )
        details = []
        for svc in ctx.config.services:
            names = sorted({r.name for r in rules if svc.name in r.services})
            if names:
                shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
                details.append(Detail(svc.name, Status.PASS, f"{len(names)} alert rules ({shown})"))
            else:
                kinds = sorted({c.type for c in svc.checks if c.type != "heartbeat"})
                hint = f"; try rule_packs: [{', '.join(kinds)}]" if kinds else ""
                details.append(
                    Detail(svc.name, Status.FAIL, f"no alert rule watches its series{hint}")
                )
        return from_details(
            details,
            ok=f"every service is watched by alert rules ({len(rules)} rules loaded)",
            remediation="enable the rule packs of the service's checks (rule_packs: in the "
            'service) or add rules that select its series (service="<name>")',
            nothing="no services are declared",
            data={"rules": len(rules)},
        )
