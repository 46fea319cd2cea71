"""The ``readiness:`` section: what ``watchkeeper validate`` checks against, its limits,
the performance endpoints, the rollback-drill targets, the daily schedule and a team's own
checks. Every field has a default, so an empty section validates a whole stack."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.readiness.model import Category

if TYPE_CHECKING:
    from watchkeeper.config.model import WatchkeeperConfig

Problems = list[tuple[tuple[str | int, ...], str]]
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

DEFAULT_CREDENTIALS = (
    "admin:admin",
    "admin:password",
    "admin:changeme",
    "admin:watchkeeper",
    "admin:admin123",
    "admin:12345678",
    "admin:1234567890",
    "admin:password123",
    "admin:administrator",
    "root:root",
    "watchkeeper:watchkeeper",
)


class InstanceSettings(StrictModel):
    url: str | None = Field(
        None, description="a running Watchkeeper to ask (default: from server.listen)"
    )
    token: Secret | None = Field(None, description="API token with services:read")
    timeout: Duration = Field(Duration(5), description="timeout of one call to the instance")


class MonitoringSettings(StrictModel):
    max_age_intervals: float = Field(
        2.0, gt=0, description="a check's last success may be at most this many intervals old"
    )


class AlertingSettings(StrictModel):
    rule_tests: list[str] = Field(
        default_factory=list,
        description="promtool-format rule test files (globs, relative to this file)",
    )
    rule_pack_tests: bool = Field(True, description="also run the enabled rule packs' tests")
    test_alert_timeout: Duration = Field(
        Duration(20), description="how long a test notification may take to be delivered"
    )
    test_alert_receivers: list[str] | None = Field(
        None, description="receivers sent a test notification (default: every one)"
    )
    escalation_min_levels: int = Field(2, ge=1)
    first_response: Duration = Field(
        Duration(300), description="the first escalation level must be reached within this"
    )
    escalation_deadline: Duration = Field(
        Duration(3600), description="the last escalation level must be reached within this"
    )


class RestoreDrillSettings(StrictModel):
    enabled: bool = True
    dsn: Secret | None = Field(
        None, description="database to dump (default: the first postgres check's dsn)"
    )
    tables: list[str] = Field(
        default_factory=list, description="schema.table to dump and compare (default: all)"
    )
    max_database_bytes: int = Field(
        1 << 30, ge=1, description="larger databases are not drilled (the drill copies it)"
    )


class BackupSettings(StrictModel):
    max_age: Duration = Field(Duration(26 * 3600), description="newest backup at most this old")
    require_pitr: bool = Field(False, description="point-in-time recovery must be enabled")
    restore_drill: RestoreDrillSettings = Field(default_factory=RestoreDrillSettings)


class ScalingSettings(StrictModel):
    production_services: list[str] | None = Field(
        None, description="services held to production rules (default: every service)"
    )
    min_instances: int = Field(2, ge=1, description="autoscaling minimum for production")
    free_plans: list[str] = Field(default_factory=lambda: ["free"])
    max_connection_usage: float = Field(
        0.8, gt=0, le=1, description="connections in use / maximum allowed"
    )


class RollbackTarget(StrictModel):
    service: str
    check: str = Field(description="name of the service's vercel or render check")
    health_url: str | None = Field(
        None, description="URL that must answer 2xx after each step (default: service url)"
    )


class DeploySettings(StrictModel):
    rollback_drill: list[RollbackTarget] = Field(
        default_factory=list,
        description="staging targets --rollback-drill may roll back and forward",
    )
    drill_timeout: Duration = Field(Duration(120), description="time allowed for one step")


class Sla(StrictModel):
    p50: Duration | None = None
    p95: Duration | None = Duration(1)
    p99: Duration | None = Duration(2)
    max_error_rate: float = Field(0.01, ge=0, le=1)


class EndpointSettings(StrictModel):
    name: str | None = Field(None, description="default: service/path")
    service: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expected_status: list[int] = Field(default_factory=list, description="default: any 2xx/3xx")
    requests: int | None = Field(None, ge=1, le=100_000)
    concurrency: int | None = Field(None, ge=1, le=500)
    sla: Sla | None = None

    def key(self) -> str:
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        return f"{self.service}{urlsplit(self.url).path or '/'}"


class PerformanceSettings(StrictModel):
    requests: int = Field(100, ge=1, le=100_000, description="requests per endpoint")
    concurrency: int = Field(10, ge=1, le=500)
    request_timeout: Duration = Field(Duration(10))
    tolerance: float = Field(
        0.25, ge=0, description="slower than the baseline by more than this share fails"
    )
    min_regression: Duration = Field(
        Duration(0.02), description="differences smaller than this never count as regressions"
    )
    sla: Sla = Field(default_factory=Sla)
    endpoints: list[EndpointSettings] | None = Field(
        None, description="default: every service's http check URLs"
    )


class SecurityTarget(StrictModel):
    url: str = Field(description="the public URL, normally https://")
    http_url: str | None = Field(
        None, description="where plain HTTP is tried (default: the same host on port 80)"
    )


class SecuritySettings(StrictModel):
    targets: list[SecurityTarget] | None = Field(
        None, description="public URLs to inspect (default: services' urls and http checks)"
    )
    check_loopback: bool = Field(
        False, description="also inspect loopback and private addresses (skipped by default)"
    )
    ca_file: str | None = Field(None, description="PEM file of extra CAs to trust")
    min_certificate_days: float = Field(14, ge=0)
    hsts_min_max_age: Duration = Field(Duration(180 * 86400))
    required_headers: list[str] = Field(
        default_factory=lambda: [
            "x-content-type-options",
            "content-security-policy",
            "referrer-policy",
        ]
    )
    default_credentials: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CREDENTIALS),
        description="user:password pairs that must not log in to Watchkeeper",
    )


class NotifyWhen(StrEnum):
    ALWAYS = "always"
    PROBLEMS = "problems"  # only when something warned, failed or errored


class ScheduleSettings(StrictModel):
    enabled: bool = False
    cron: str = Field("0 6 * * *", description="when the scheduled run starts (5-field cron)")
    receivers: list[str] = Field(
        default_factory=list, description="who gets the result (default: the root receiver)"
    )
    notify: NotifyWhen = NotifyWhen.ALWAYS
    only: list[Category] = Field(default_factory=list, description="categories (default: all)")
    send_test_alerts: bool = False

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(
                f"invalid cron expression {value!r}: use five fields, e.g. '0 6 * * *' for "
                "every day at 06:00 UTC"
            )
        return value


HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class HttpAssertion(StrictModel):
    url: str
    method: HttpMethod = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expected_status: list[int] = Field(default_factory=list, description="default: any 2xx")
    contains: list[str] = Field(default_factory=list)
    json_path: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    max_latency: Duration | None = None
    verify_tls: bool = True
    ca_file: str | None = None


class SqlAssertion(StrictModel):
    dsn: Secret
    query: str
    expect: str | int | float | bool | None = Field(
        None, description="the first column of the first row must equal this"
    )
    expect_rows: int | None = Field(None, ge=0, description="the query must return this many")

    @model_validator(mode="after")
    def _something_expected(self) -> SqlAssertion:
        if (
            self.expect is None
            and self.expect_rows is None
            and "expect" not in (self.model_fields_set)
        ):
            raise ValueError("give expect (a value) or expect_rows (a row count)")
        return self


class CustomCheckSettings(StrictModel):
    name: str = Field(description="short id: lower-case letters, digits, - and _")
    title: str | None = None
    category: Category = Category.CUSTOM
    timeout: Duration | None = None
    remediation: str = ""
    http: HttpAssertion | None = None
    sql: SqlAssertion | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"check name {value!r} must be lower-case letters, digits, - and _")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> CustomCheckSettings:
        if (self.http is None) == (self.sql is None):
            raise ValueError("a custom check needs exactly one of http or sql")
        return self


class ReadinessConfig(StrictModel):
    check_timeout: Duration = Field(Duration(30), description="default time allowed per check")
    timeouts: dict[str, Duration] = Field(
        default_factory=dict, description="per check id, e.g. backups.restore_drill: 2m"
    )
    concurrency: int = Field(8, ge=1, le=64, description="checks run at once")
    skip: list[str] = Field(default_factory=list, description="check ids not to run")
    instance: InstanceSettings = Field(default_factory=InstanceSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    backups: BackupSettings = Field(default_factory=BackupSettings)
    scaling: ScalingSettings = Field(default_factory=ScalingSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    custom: list[CustomCheckSettings] = Field(default_factory=list)


def semantic_problems(cfg: WatchkeeperConfig) -> Problems:
    """Cross-references of the readiness section (services, checks and receivers it
    names), as (path, message) pairs for the config loader."""
    r = cfg.readiness
    services = {s.name: s for s in cfg.services}
    receivers = {rc.name for rc in cfg.alerting.receivers}
    problems: Problems = []
    known = ", ".join(services) or "(none)"
    for i, name in enumerate(r.scaling.production_services or []):
        if name not in services:
            problems.append(
                (
                    ("readiness", "scaling", "production_services", i),
                    f"unknown service {name!r}; known: {known}",
                )
            )
    for i, target in enumerate(r.deploy.rollback_drill):
        path: tuple[str | int, ...] = ("readiness", "deploy", "rollback_drill", i)
        svc = services.get(target.service)
        if svc is None:
            problems.append(((*path, "service"), f"unknown service {target.service!r}"))
            continue
        kinds = {c.check_name: c.type for c in svc.checks}
        if kinds.get(target.check) not in ("vercel", "render"):
            problems.append(
                (
                    (*path, "check"),
                    f"service {target.service!r} has no vercel or render check named "
                    f"{target.check!r}; its checks: {', '.join(kinds) or '(none)'}",
                )
            )
    for i, ep in enumerate(r.performance.endpoints or []):
        if ep.service not in services:
            problems.append(
                (
                    ("readiness", "performance", "endpoints", i, "service"),
                    f"unknown service {ep.service!r}; known: {known}",
                )
            )
    for field_name, names in (
        ("schedule", r.schedule.receivers),
        ("test_alert_receivers", r.alerting.test_alert_receivers or []),
    ):
        for i, name in enumerate(names):
            if name not in receivers:
                where: tuple[str | int, ...] = (
                    ("readiness", "schedule", "receivers", i)
                    if field_name == "schedule"
                    else ("readiness", "alerting", "test_alert_receivers", i)
                )
                problems.append(
                    (where, f"unknown receiver {name!r}; known: {', '.join(sorted(receivers))}")
                )
    seen: set[str] = set()
    for i, custom in enumerate(r.custom):
        if custom.name in seen:
            problems.append(
                (("readiness", "custom", i, "name"), f"two custom checks are named {custom.name!r}")
            )
        seen.add(custom.name)
    return problems
