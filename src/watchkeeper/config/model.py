"""The root configuration model. Each section's model lives beside the stage that uses it."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from watchkeeper.alerting.config import AlertingConfig
from watchkeeper.cluster.config import ClusterConfig
from watchkeeper.collect.registry import CheckConfig
from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.quality.config import ReportsConfig
from watchkeeper.readiness.config import ReadinessConfig
from watchkeeper.rules.anomaly import AnomalyRuleEntry
from watchkeeper.security.config import SecurityConfig
from watchkeeper.slo.config import SLOConfig
from watchkeeper.state.config import StateConfig
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.web.config import ServerConfig, StatusPageConfig

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class GlobalConfig(StrictModel):
    scrape_interval: Duration = Field(Duration(15), description="default check interval")
    scrape_timeout: Duration = Field(Duration(10), description="default per-check timeout")
    evaluation_interval: Duration = Field(Duration(15), description="default rule interval")
    external_labels: dict[str, str] = Field(default_factory=dict)


class ServiceConfig(StrictModel):
    name: str = Field(description="short id: lower-case letters, digits, - and _")
    display_name: str | None = None
    description: str = ""
    url: str | None = Field(None, description="the service's public URL, shown on the dashboard")
    depends_on: list[str] = Field(
        default_factory=list, description="services this one needs (alert dependencies)"
    )
    checks: list[CheckConfig] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict, description="added to its series")
    rule_packs: list[str] = Field(
        default_factory=list,
        description="default alert rules shipped with Watchkeeper to enable, e.g. [http, "
        "render]; a pack is loaded once however many services list it",
    )

    @field_validator("rule_packs")
    @classmethod
    def _known_packs(cls, value: list[str]) -> list[str]:
        from watchkeeper.rulepacks import RULE_PACKS

        unknown = [name for name in value if name not in RULE_PACKS]
        if unknown:
            raise ValueError(
                f"unknown rule pack {', '.join(map(repr, unknown))}; "
                f"available: {', '.join(RULE_PACKS)}"
            )
        return value

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError(
                f"service name {value!r} must be lower-case letters, digits, - and _ "
                "(start with a letter or digit); put the pretty name in display_name"
            )
        return value

    @property
    def title(self) -> str:
        return self.display_name or self.name


class WatchkeeperConfig(StrictModel):
    server: ServerConfig = Field(default_factory=ServerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig,
        description="several instances on one PostgreSQL (on whenever state.backend is postgres)",
    )
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    services: list[ServiceConfig] = Field(default_factory=list)
    rule_files: list[str] = Field(
        default_factory=list, description="Prometheus rule files (globs, relative to this file)"
    )
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    notify: NotifySettings = Field(
        default_factory=NotifySettings,
        description="delivery: retries, backoff, concurrency and rate limits of the channels",
    )
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    readiness: ReadinessConfig = Field(default_factory=ReadinessConfig)
    slos: list[SLOConfig] = Field(
        default_factory=list, description="service level objectives and their burn-rate alerts"
    )
    anomaly_rules: list[AnomalyRuleEntry] = Field(
        default_factory=list, description="anomaly scores of series, and alerts on them"
    )
    reports: ReportsConfig = Field(
        default_factory=ReportsConfig, description="daily and weekly digests, response targets"
    )

    def service(self, name: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.name == name), None)

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> WatchkeeperConfig:
        if "cluster" in self.model_fields_set and self.state.backend != "postgres":
            raise ValueError(
                "cluster: several instances share their state in PostgreSQL; set "
                "state.backend: postgres with a dsn, or remove the cluster section"
            )
        return self
