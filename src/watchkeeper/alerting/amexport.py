"""The configuration as a plain Alertmanager file, for ``GET /alertmanager/api/v2/status``:
``amtool config routes test`` parses it and must route exactly as Watchkeeper does.

Watchkeeper's additions are left out, receivers are reduced to their names (no channel
settings, so no secret can leak) and on-call rotations appear as receivers, since routes
may name them.
"""

from __future__ import annotations

from typing import Any

import yaml

from watchkeeper.alerting.config import AlertingConfig, RouteConfig
from watchkeeper.core.durations import format_duration


def route_dict(route: RouteConfig) -> dict[str, Any]:
    raw = route.model_dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        exclude_defaults=True,
        exclude={"escalation_policy", "routes"},
    )
    if route.routes:
        raw["routes"] = [route_dict(r) for r in route.routes]
    return raw


def alertmanager_config(config: AlertingConfig) -> dict[str, Any]:
    receivers = [r.name for r in config.receivers] + [r.name for r in config.oncall_rotations]
    doc: dict[str, Any] = {
        "global": {"resolve_timeout": format_duration(float(config.resolve_timeout))},
        "route": route_dict(config.route),
        "receivers": [{"name": n} for n in receivers],
        "templates": list(config.templates),
    }
    if config.inhibit_rules:
        doc["inhibit_rules"] = [
            r.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            for r in config.inhibit_rules
        ]
    intervals = config.all_time_intervals()
    if intervals:
        doc["time_intervals"] = [ti.model_dump(mode="json", exclude_none=True) for ti in intervals]
    return doc


def alertmanager_yaml(config: AlertingConfig) -> str:
    return yaml.safe_dump(alertmanager_config(config), sort_keys=False, allow_unicode=True)
