"""What the alerting checks share: the alert rules a config loads (rule files and rule
packs, through the runtime's own loader) and which services each rule watches.

A rule watches a service when the rule's own labels name it, when it comes from a rule
pack the service enables, or when one of its selectors matches series the service's
collectors produced in the validator's run (``group by (service) ({selector})``).
"""

from __future__ import annotations

from dataclasses import dataclass

from watchkeeper.core.errors import QueryError
from watchkeeper.promql.ast import VectorSelector, parse, walk
from watchkeeper.readiness.check import CheckContext
from watchkeeper.rules.loader import LoadedGroup
from watchkeeper.rules.model import RuleConfig
from watchkeeper.runtime.rules import load_rules

PACK_PREFIX = "rulepack:"


@dataclass(frozen=True, slots=True)
class AlertRule:
    group: LoadedGroup
    rule: RuleConfig
    services: frozenset[str]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def pack(self) -> str | None:
        file = self.group.file
        return file[len(PACK_PREFIX) :] if file.startswith(PACK_PREFIX) else None

    def static_labels(self) -> dict[str, str]:
        """The rule's labels that are not templates (a template's value is unknown)."""
        merged = {**self.group.config.labels, **self.rule.labels}
        return {k: v for k, v in merged.items() if "{{" not in v}


async def alert_rules(ctx: CheckContext) -> list[AlertRule]:
    """Every alerting rule of the config with the services it watches. Raises
    ConfigError when a rule file cannot be loaded."""
    groups = load_rules(ctx.config, ctx.base_dir)
    collected = await ctx.evidence.collected()
    known = {s.name for s in ctx.config.services}
    packs = {s.name: set(s.rule_packs) for s in ctx.config.services}
    cache: dict[str, frozenset[str]] = {}
    out: list[AlertRule] = []
    for group in groups:
        for rule in group.config.rules:
            if not rule.is_alert:
                continue
            watched: set[str] = set()
            label = {**group.config.labels, **rule.labels}.get("service")
            if label in known:
                watched.add(label)
            if group.file.startswith(PACK_PREFIX):
                pack = group.file[len(PACK_PREFIX) :]
                watched |= {name for name, enabled in packs.items() if pack in enabled}
            for selector in _selectors(rule.expr):
                if selector not in cache:
                    found = collected.samples(f"group by (service) ({selector})")
                    cache[selector] = frozenset(
                        labels.get("service", "") for labels, _ in found
                    ) & frozenset(known)
                watched |= cache[selector]
            out.append(AlertRule(group, rule, frozenset(watched)))
    return out


def _selectors(expr: str) -> list[str]:
    try:
        tree = parse(expr)
    except QueryError:
        return []
    out = []
    for node in walk(tree):
        if isinstance(node, VectorSelector):
            for group in node.matcher_sets:
                out.append("{" + ", ".join(str(m) for m in group) + "}")
    return out
