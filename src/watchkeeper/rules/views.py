"""The rule manager seen through the Prometheus API's ``/api/v1/rules`` and ``/alerts``."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.core.enums import AlertState
from watchkeeper.promql.api_views import (
    AlertView,
    RuleGroupView,
    RuleHealthView,
    RuleType,
    RuleView,
)
from watchkeeper.rules.alerting_rule import ActiveAlert, AlertingRule
from watchkeeper.rules.group import RuleGroup, RuleHealth
from watchkeeper.rules.manager import RuleManager

_HEALTH = {
    RuleHealth.OK: RuleHealthView.OK,
    RuleHealth.ERROR: RuleHealthView.ERR,
    RuleHealth.UNKNOWN: RuleHealthView.UNKNOWN,
}


class RuleViews:
    """Implements the query API's RulesProvider and AlertsProvider."""

    def __init__(self, manager: RuleManager) -> None:
        self._manager = manager

    def rule_groups(self) -> Sequence[RuleGroupView]:
        return [self._group(g) for g in self._manager.groups]

    def alerts(self) -> Sequence[AlertView]:
        return [_alert(a) for _, _, a in self._manager.active_alerts()]

    def _group(self, group: RuleGroup) -> RuleGroupView:
        rules = []
        for index, rule in enumerate(group.rules):
            status = group.rule_status(index)
            cfg = rule.config
            common = {
                "name": rule.name,
                "query": cfg.expr,
                "labels": dict(cfg.labels),
                "health": _HEALTH[status.health],
                "last_error": status.last_error,
                "evaluation_time_s": status.evaluation_seconds,
                "last_evaluation": status.last_evaluation,
            }
            if isinstance(rule, AlertingRule):
                alerts = [
                    _alert(a)
                    for a in rule.alerts()
                    if a.state in (AlertState.PENDING, AlertState.FIRING)
                ]
                rules.append(
                    RuleView(
                        type=RuleType.ALERTING,
                        annotations=dict(cfg.annotations),
                        duration_s=float(cfg.for_),
                        keep_firing_for_s=float(cfg.keep_firing_for),
                        state=rule.state().value,
                        alerts=alerts,
                        **common,  # type: ignore[arg-type]
                    )
                )
            else:
                rules.append(RuleView(type=RuleType.RECORDING, **common))  # type: ignore[arg-type]
        return RuleGroupView(
            name=group.name,
            file=group.file,
            interval_s=group.interval,
            rules=rules,
            limit=group.loaded.config.limit,
            evaluation_time_s=group.evaluation_seconds,
            last_evaluation=group.last_evaluation,
        )


def _alert(alert: ActiveAlert) -> AlertView:
    return AlertView(
        labels=alert.labels.to_dict(),
        annotations=dict(alert.annotations),
        state=alert.state.value,
        active_at=alert.active_at,
        value=alert.value,
        keep_firing_since=alert.keep_firing_since,
    )
