"""``alerting`` section, in Alertmanager's configuration format: ``global``, ``route``,
``receivers``, ``inhibit_rules``, ``time_intervals`` (and the deprecated
``mute_time_intervals``), ``templates``; plus Watchkeeper's additions
(:mod:`watchkeeper.alerting.config_ext`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from watchkeeper.alerting.config_ext import (
    AcknowledgementConfig,
    DependencyConfig,
    EscalationPolicyConfig,
    FlappingConfig,
    MaintenanceWindowConfig,
    OnCallRotationConfig,
    RetentionConfig,
)
from watchkeeper.alerting.config_global import AlertmanagerGlobalConfig
from watchkeeper.alerting.matchers import MatcherError, parse_matcher_lines
from watchkeeper.alerting.timeintervals import TimeIntervalConfig
from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.labels import is_valid_label_name
from watchkeeper.notify.config import ReceiverConfig

Problem = tuple[tuple[str | int, ...], str]
DEFAULT_RESOLVE_TIMEOUT = 300.0


def _matcher_line(value: str) -> str:
    try:
        parse_matcher_lines([value])
    except MatcherError as exc:
        raise ValueError(str(exc)) from None
    return value


def _label_name(value: str) -> str:
    if not is_valid_label_name(value):
        raise ValueError(
            f"invalid label name {value!r}: use letters, digits and _, not starting with a digit"
        )
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


MatcherLine = Annotated[str, AfterValidator(_matcher_line)]
LabelName = Annotated[str, AfterValidator(_label_name)]
Regex = Annotated[str, AfterValidator(_regex)]


class RouteConfig(StrictModel):
    receiver: str | None = None
    group_by: list[str] | None = None
    matchers: list[MatcherLine] = Field(default_factory=list)
    match: dict[LabelName, str] = Field(
        default_factory=dict, description="deprecated equality form"
    )
    match_re: dict[LabelName, Regex] = Field(
        default_factory=dict, description="deprecated regex form"
    )
    continue_: bool = Field(False, alias="continue")
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    escalation_policy: str | None = Field(
        None,
        description="Watchkeeper: escalation policy for this route's alert groups "
        "(inherited by child routes; '' turns it off)",
    )

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        seen: set[str] = set()
        for name in value:
            if name == "...":
                if len(value) > 1:
                    raise ValueError(
                        "cannot have wildcard group_by ('...') and other labels at the same "
                        "time; '...' alone groups by every label"
                    )
                continue
            if not is_valid_label_name(name):
                raise ValueError(f"invalid label name {name!r} in group_by list")
            if name in seen:
                raise ValueError(f"duplicated label {name!r} in group_by")
            seen.add(name)
        return value

    @field_validator("group_interval", "repeat_interval")
    @classmethod
    def _not_zero(cls, value: Duration | None) -> Duration | None:
        if value is not None and float(value) == 0:
            raise ValueError("cannot be zero; use a duration such as 5m")
        return value


class InhibitRuleConfig(StrictModel):
    name: str | None = None
    source_matchers: list[MatcherLine] = Field(default_factory=list)
    target_matchers: list[MatcherLine] = Field(default_factory=list)
    source_match: dict[LabelName, str] = Field(default_factory=dict)
    source_match_re: dict[LabelName, Regex] = Field(default_factory=dict)
    target_match: dict[LabelName, str] = Field(default_factory=dict)
    target_match_re: dict[LabelName, Regex] = Field(default_factory=dict)
    equal: list[LabelName] = Field(default_factory=list)


class AlertingConfig(StrictModel):
    global_: AlertmanagerGlobalConfig = Field(
        default_factory=lambda: AlertmanagerGlobalConfig.model_validate({}), alias="global"
    )
    route: RouteConfig = Field(
        default_factory=lambda: RouteConfig.model_validate({"receiver": "default"})
    )
    receivers: list[ReceiverConfig] = Field(
        default_factory=lambda: [ReceiverConfig(name="default")]
    )
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    templates: list[str] = Field(default_factory=list)
    time_intervals: list[TimeIntervalConfig] = Field(default_factory=list)
    mute_time_intervals: list[TimeIntervalConfig] = Field(
        default_factory=list, description="deprecated name of time_intervals"
    )
    resolve_timeout: Duration = Field(
        Duration(DEFAULT_RESOLVE_TIMEOUT),
        description="an alert not re-sent within this long is resolved (global.resolve_timeout)",
    )
    escalation_policies: list[EscalationPolicyConfig] = Field(default_factory=list)
    oncall_rotations: list[OnCallRotationConfig] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindowConfig] = Field(default_factory=list)
    flapping: FlappingConfig = Field(default_factory=lambda: FlappingConfig.model_validate({}))
    dependencies: DependencyConfig = Field(
        default_factory=lambda: DependencyConfig.model_validate({})
    )
    acknowledgement: AcknowledgementConfig = Field(
        default_factory=lambda: AcknowledgementConfig.model_validate({})
    )
    retention: RetentionConfig = Field(default_factory=lambda: RetentionConfig.model_validate({}))

    @model_validator(mode="before")
    @classmethod
    def _global_resolve_timeout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        glob = data.get("global")
        if isinstance(glob, dict) and glob.get("resolve_timeout") is not None:
            if "resolve_timeout" in data and data["resolve_timeout"] != glob["resolve_timeout"]:
                raise ValueError(
                    "resolve_timeout is given twice (here and in global); keep global's"
                )
            data = {**data, "resolve_timeout": glob["resolve_timeout"]}
        return data

    def all_time_intervals(self) -> list[TimeIntervalConfig]:
        return [*self.mute_time_intervals, *self.time_intervals]

    def receiver(self, name: str) -> ReceiverConfig | None:
        return next((r for r in self.receivers if r.name == name), None)


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


def _walk(
    route: RouteConfig, path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], RouteConfig]]:
    out = [(path, route)]
    for i, child in enumerate(route.routes):
        out.extend(_walk(child, (*path, "routes", i)))
    return out


def semantic_problems(cfg: AlertingConfig) -> list[Problem]:
    """Cross-references inside the alerting section (paths relative to it)."""
    problems: list[Problem] = []
    names: set[str] = set()
    for i, receiver in enumerate(cfg.receivers):
        if receiver.name in names:
            problems.append(
                (("receivers", i, "name"), f"duplicate receiver name {receiver.name!r}")
            )
        names.add(receiver.name)
    rotations: set[str] = set()
    for i, rot in enumerate(cfg.oncall_rotations):
        where = ("oncall_rotations", i, "name")
        if rot.name in names:
            problems.append((where, f"on-call rotation {rot.name!r} has a receiver's name"))
        elif rot.name in rotations:
            problems.append((where, f"duplicate on-call rotation name {rot.name!r}"))
        rotations.add(rot.name)
    problems += _root_route_problems(cfg.route)
    known = ", ".join(sorted(names | rotations)) or "(none defined)"

    def undefined(path: tuple[str | int, ...], name: str, what: str) -> Problem:
        return (
            path,
            f"{what} references undefined receiver {name!r}; define it under "
            f"alerting.receivers or use one of: {known}",
        )

    for path, name in route_receivers(cfg.route, ("route",)):
        if name not in names and name not in rotations:
            problems.append(undefined(path, name, "route"))
    problems += _time_interval_problems(cfg)
    policies: set[str] = set()
    for i, policy in enumerate(cfg.escalation_policies):
        if policy.name in policies:
            problems.append(
                (("escalation_policies", i, "name"), f"duplicate policy name {policy.name!r}")
            )
        policies.add(policy.name)
        for j, level in enumerate(policy.levels):
            for k, name in enumerate(level.receivers):
                if name not in names and name not in rotations:
                    path = ("escalation_policies", i, "levels", j, "receivers", k)
                    problems.append(undefined(path, name, "escalation level"))
    for path, route in _walk(cfg.route, ("route",)):
        if route.escalation_policy and route.escalation_policy not in policies:
            choices = ", ".join(sorted(policies)) or "(none defined)"
            problems.append(
                (
                    (*path, "escalation_policy"),
                    f"unknown escalation policy {route.escalation_policy!r}; define it under "
                    f"alerting.escalation_policies or use one of: {choices}",
                )
            )
    for i, rot in enumerate(cfg.oncall_rotations):
        for j, name in enumerate(rot.members):
            if name not in names:
                problems.append(undefined(("oncall_rotations", i, "members", j), name, "rotation"))
        for j, override in enumerate(rot.overrides):
            if override.receiver not in names:
                path = ("oncall_rotations", i, "overrides", j, "receiver")
                problems.append(undefined(path, override.receiver, "override"))
    windows: set[str] = set()
    for i, window in enumerate(cfg.maintenance_windows):
        if window.name in windows:
            problems.append(
                (("maintenance_windows", i, "name"), f"duplicate window name {window.name!r}")
            )
        windows.add(window.name)
        for j, name in enumerate(window.notify or []):
            if name not in names and name not in rotations:
                path = ("maintenance_windows", i, "notify", j)
                problems.append(undefined(path, name, "maintenance window"))
    return problems


def _root_route_problems(route: RouteConfig) -> list[Problem]:
    problems: list[Problem] = []
    if route.receiver is None:
        problems.append((("route",), "the top-level route needs a receiver"))
    if route.matchers or route.match or route.match_re:
        problems.append(
            (("route",), "the top-level route must not have matchers: it catches every alert")
        )
    if route.mute_time_intervals or route.active_time_intervals:
        problems.append(
            (
                ("route",),
                "the top-level route must not have mute or active time intervals; put them "
                "on a child route",
            )
        )
    return problems


def _time_interval_problems(cfg: AlertingConfig) -> list[Problem]:
    problems: list[Problem] = []
    defined: set[str] = set()
    for key, items in (
        ("mute_time_intervals", cfg.mute_time_intervals),
        ("time_intervals", cfg.time_intervals),
    ):
        for i, ti in enumerate(items):
            if ti.name in defined:
                problems.append(((key, i, "name"), f"time interval {ti.name!r} is not unique"))
            defined.add(ti.name)
    known = ", ".join(sorted(defined)) or "(none defined)"

    def check(path: tuple[str | int, ...], name: str) -> None:
        if name not in defined:
            problems.append(
                (
                    path,
                    f"undefined time interval {name!r}; define it under "
                    f"alerting.time_intervals or use one of: {known}",
                )
            )

    for path, route in _walk(cfg.route, ("route",)):
        for field in ("mute_time_intervals", "active_time_intervals"):
            for i, name in enumerate(getattr(route, field)):
                check((*path, field, i), name)
    for i, window in enumerate(cfg.maintenance_windows):
        for j, name in enumerate(window.time_intervals):
            check(("maintenance_windows", i, "time_intervals", j), name)
    return problems
