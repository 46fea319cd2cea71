"""``alerting`` section, in Alertmanager's configuration format: ``route``, ``receivers``,
``inhibit_rules``, ``time_intervals``, ``templates``."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.config import ReceiverConfig


class RouteConfig(StrictModel):
    receiver: str | None = None
    group_by: list[str] | None = None
    matchers: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict, description="deprecated equality form")
    match_re: dict[str, str] = Field(default_factory=dict, description="deprecated regex form")
    continue_: bool = Field(False, alias="continue")
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)


class InhibitRuleConfig(StrictModel):
    source_matchers: list[str] = Field(default_factory=list)
    target_matchers: list[str] = Field(default_factory=list)
    source_match: dict[str, str] = Field(default_factory=dict)
    source_match_re: dict[str, str] = Field(default_factory=dict)
    target_match: dict[str, str] = Field(default_factory=dict)
    target_match_re: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)


class AlertingConfig(StrictModel):
    route: RouteConfig = Field(default_factory=lambda: RouteConfig(receiver="default"))
    receivers: list[ReceiverConfig] = Field(
        default_factory=lambda: [ReceiverConfig(name="default")]
    )
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    templates: list[str] = Field(default_factory=list)
    resolve_timeout: Duration = Duration(300)


def route_receivers(
    route: RouteConfig, path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, receiver name) for every route in the tree that names a receiver."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    if route.receiver is not None:
        out.append(((*path, "receiver"), route.receiver))
    for i, child in enumerate(route.routes):
        out.extend(route_receivers(child, (*path, "routes", i)))
    return out


def semantic_problems(cfg: AlertingConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references inside the alerting section (paths relative to it)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: set[str] = set()
    for i, receiver in enumerate(cfg.receivers):
        if receiver.name in names:
            problems.append(
                (("receivers", i, "name"), f"duplicate receiver name {receiver.name!r}")
            )
        names.add(receiver.name)
    if cfg.route.receiver is None:
        problems.append((("route",), "the top-level route needs a receiver"))
    known = ", ".join(sorted(names)) or "(none defined)"
    for path, name in route_receivers(cfg.route, ("route",)):
        if name not in names:
            problems.append(
                (
                    path,
                    f"route references undefined receiver {name!r}; define it under "
                    f"alerting.receivers or use one of: {known}",
                )
            )
    return problems
