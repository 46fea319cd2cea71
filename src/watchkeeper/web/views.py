"""View models shared by the JSON API and the dashboard: services with the status of their
checks and their open alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from watchkeeper.collect.status import TargetStatus
from watchkeeper.config.model import ServiceConfig
from watchkeeper.core.enums import CheckStatus
from watchkeeper.core.labels import Matcher

if TYPE_CHECKING:
    from watchkeeper.alerting.views import AlertView
    from watchkeeper.runtime.app import Runtime


class ServiceState(StrEnum):
    UP = "up"
    DEGRADED = "degraded"  # checks pass but an alert fires
    DOWN = "down"  # a check fails
    UNKNOWN = "unknown"  # nothing collected yet


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    config: ServiceConfig
    state: ServiceState
    checks: list[TargetStatus]
    alerts: list[AlertView] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def title(self) -> str:
        return self.config.title

    @property
    def firing(self) -> list[AlertView]:
        return [a for a in self.alerts if a.firing]

    def latency_query(self) -> str:
        """The series that best shows how the service feels: probe latency of its HTTP
        checks, else scrape durations."""
        kinds = {c.kind for c in self.checks}
        name = self.name
        if "http" in kinds:
            return f'max by (check) (probe_duration_seconds{{service="{name}"}})'
        return f'max by (check) (scrape_duration_seconds{{service="{name}"}})'

    def to_dict(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "name": cfg.name,
            "title": cfg.title,
            "description": cfg.description,
            "url": cfg.url,
            "depends_on": list(cfg.depends_on),
            "state": self.state.value,
            "checks": [c.to_dict() for c in self.checks],
            "firing_alerts": len(self.firing),
            "latency_query": self.latency_query(),
        }


def service_state(checks: list[TargetStatus], firing: int) -> ServiceState:
    statuses = {c.status for c in checks}
    if CheckStatus.DOWN in statuses:
        return ServiceState.DOWN
    if firing:
        return ServiceState.DEGRADED
    if not checks or statuses == {CheckStatus.UNKNOWN}:
        return ServiceState.UNKNOWN
    return ServiceState.UP


def service_summaries(rt: Runtime) -> list[ServiceSummary]:
    by_service: dict[str, list[TargetStatus]] = {}
    for status in rt.scheduler.statuses():
        by_service.setdefault(status.service, []).append(status)
    out = []
    for svc in rt.config.services:
        checks = sorted(by_service.get(svc.name, []), key=lambda s: s.check)
        alerts = rt.alerts.views.alerts(filters=[Matcher.equal("service", svc.name)])
        firing = sum(1 for a in alerts if a.firing)
        out.append(ServiceSummary(svc, service_state(checks, firing), checks, alerts))
    return out


def service_summary(rt: Runtime, name: str) -> ServiceSummary | None:
    return next((s for s in service_summaries(rt) if s.name == name), None)
