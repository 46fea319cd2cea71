"""The ``slos:`` section: service level objectives, Sloth/OpenSLO-like.

One entry per SLO: the service it belongs to, an SLI (good/bad and total events, or
availability from checks, or latency from a classic histogram), the objective in percent
and the compliance window. Burn-rate alerts are generated from it (:mod:`.rules`)::

    slos:
      - name: backend-availability
        service: backend
        objective: 99.9
        window: 30d
        sli:
          events:
            bad: http_requests_total{service="backend", code=~"5.."}
            total: http_requests_total{service="backend"}
        alerting:
          min_events: 30      # events the long window needs before a burn alert may fire
          error_floor: 5      # bad events the long window needs before a burn alert may fire
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import is_valid_label_name, is_valid_metric_name
from watchkeeper.promql import parse
from watchkeeper.promql.ast import VectorSelector

if TYPE_CHECKING:
    from watchkeeper.config.model import WatchkeeperConfig

WINDOW_PLACEHOLDER = "$window"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MIN_WINDOW = 7 * 86400
MAX_WINDOW = 90 * 86400
RESERVED_LABELS = frozenset({"slo", "service", "slo_alert", "alertname"})


def _check_promql(text: str, what: str) -> None:
    try:
        parse(text)
    except (QueryError, ValueError) as exc:
        raise ValueError(f"{what} is not valid PromQL: {exc}") from None


def is_selector(text: str) -> bool:
    """True when ``text`` is a bare series selector such as ``x_total{code="500"}``."""
    try:
        return isinstance(parse(text), VectorSelector)
    except (QueryError, ValueError):
        return False


def _event_query(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{field} must not be empty")
    if WINDOW_PLACEHOLDER in value:
        _check_promql(value.replace(WINDOW_PLACEHOLDER, "5m"), field)
        return value
    if not is_selector(value):
        raise ValueError(
            f"{field} must be a counter selector such as "
            'http_requests_total{service="api"}, or an expression that counts the events in '
            f"{WINDOW_PLACEHOLDER}, e.g. sum(increase(http_requests_total[{WINDOW_PLACEHOLDER}]))"
        )
    return value


def _matchers(value: str, field: str) -> str:
    value = value.strip().removeprefix("{").removesuffix("}").strip()
    if value:
        _check_promql(f"up{{{value}}}", f"{field} ({value!r})")
    return value


class EventsSLI(StrictModel):
    """Good (or bad) events over total events. Each query is a counter selector (wrapped
    in ``sum(increase(...[window]))``) or an expression with ``$window`` that returns the
    number of events in that window."""

    good: str | None = Field(None, description="counter of good events (or give bad)")
    bad: str | None = Field(None, description="counter of bad events (or give good)")
    total: str = Field(description="counter of all events")

    @field_validator("good", "bad", "total")
    @classmethod
    def _query(cls, value: str | None, info: object) -> str | None:
        if value is None:
            return None
        name = getattr(info, "field_name", "query")
        return _event_query(value, str(name))

    @model_validator(mode="after")
    def _one_of(self) -> EventsSLI:
        if (self.good is None) == (self.bad is None):
            raise ValueError("give exactly one of good or bad (with total)")
        return self


class AvailabilitySLI(StrictModel):
    """Each check run is an event; a run that failed is a bad one."""

    metric: str = Field("probe_success", description="probe_success (HTTP checks) or up")
    matchers: str | None = Field(
        None, description='label matchers, e.g. service="frontend" (default: the SLO service)'
    )

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value not in ("probe_success", "up"):
            raise ValueError(f"metric {value!r}: use probe_success or up")
        return value

    @field_validator("matchers")
    @classmethod
    def _m(cls, value: str | None) -> str | None:
        return None if value is None else _matchers(value, "matchers")


class LatencySLI(StrictModel):
    """Requests answered within ``le`` seconds, from a classic (bucketed) histogram."""

    metric: str = Field(description="the histogram's name, e.g. http_request_duration_seconds")
    le: str = Field(description="the bucket boundary, as written in the le label, e.g. '0.5'")
    matchers: str | None = Field(
        None, description='label matchers, e.g. service="backend" (default: the SLO service)'
    )

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        value = value.strip().removesuffix("_bucket")
        if not is_valid_metric_name(value):
            raise ValueError(f"{value!r} is not a metric name")
        return value

    @field_validator("le", mode="before")
    @classmethod
    def _le(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise ValueError(
                    f"le {value!r} is not a number; give a bucket boundary such as 0.5"
                ) from None
            if number <= 0 or number == float("inf"):
                raise ValueError("le must be a positive, finite bucket boundary")
        return value

    @field_validator("matchers")
    @classmethod
    def _m(cls, value: str | None) -> str | None:
        return None if value is None else _matchers(value, "matchers")


class SLIConfig(StrictModel):
    events: EventsSLI | None = None
    availability: AvailabilitySLI | None = None
    latency: LatencySLI | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SLIConfig:
        given = [k for k in ("events", "availability", "latency") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "an SLI is exactly one of events (good/bad and total), availability "
                f"(probe_success or up) or latency (histogram and le); got {given or 'none'}"
            )
        return self


class BurnAlertConfig(StrictModel):
    enabled: bool = True
    name: str = Field(min_length=1, description="the alert's alertname")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


def _page_defaults() -> BurnAlertConfig:
    return BurnAlertConfig(name="ErrorBudgetBurnFast", labels={"severity": "critical"})


def _ticket_defaults() -> BurnAlertConfig:
    return BurnAlertConfig(name="ErrorBudgetBurnSlow", labels={"severity": "warning"})


class SLOAlertingConfig(StrictModel):
    page: BurnAlertConfig = Field(default_factory=_page_defaults)
    ticket: BurnAlertConfig = Field(default_factory=_ticket_defaults)
    min_events: float = Field(
        30,
        ge=0,
        description="a burn-rate alert may fire only when its long window holds at least "
        "this many events (low-traffic guard)",
    )
    error_floor: float = Field(
        5,
        ge=0,
        description="... and at least this many bad events (absolute error floor)",
    )
    for_: Duration = Field(Duration(0), alias="for")

    @model_validator(mode="before")
    @classmethod
    def _fill_names(cls, data: object) -> object:
        # page/ticket given without a name keep the default alertname of their kind
        if isinstance(data, dict):
            data = dict(data)
            for kind, default in (
                ("page", "ErrorBudgetBurnFast"),
                ("ticket", "ErrorBudgetBurnSlow"),
            ):
                part = data.get(kind)
                if isinstance(part, dict) and "name" not in part:
                    data[kind] = {"name": default, **part}
        return data

    @model_validator(mode="after")
    def _distinct(self) -> SLOAlertingConfig:
        if self.page.name == self.ticket.name:
            raise ValueError(
                "page and ticket alerts need different names (alert state is kept per name)"
            )
        return self


class SLOConfig(StrictModel):
    name: str = Field(description="short id: lower-case letters, digits, - and _")
    service: str = Field(description="the service (from services:) this SLO belongs to")
    description: str = ""
    objective: float = Field(
        gt=0, lt=100, description="target share of good events, in percent (e.g. 99.9)"
    )
    window: Duration = Field(Duration(30 * 86400), description="compliance window, e.g. 30d")
    sli: SLIConfig
    interval: Duration | None = Field(
        None, description="how often its rules are evaluated (default: evaluation_interval)"
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="added to every generated series and alert"
    )
    alerting: SLOAlertingConfig = Field(
        default_factory=lambda: SLOAlertingConfig.model_validate({})
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"SLO name {value!r} must be lower-case letters, digits, - and _ "
                "(start with a letter or digit)"
            )
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: Duration) -> Duration:
        if not MIN_WINDOW <= float(value) <= MAX_WINDOW:
            raise ValueError(
                "window must be between 7d and 90d (the usual ones are 28d and 30d): the "
                "ticket alert looks 3 days back, which must fit well inside the window"
            )
        if float(value) % 86400:
            raise ValueError("window must be a whole number of days, e.g. 28d or 30d")
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: Duration | None) -> Duration | None:
        if value is not None and not 1 <= float(value) <= 300:
            raise ValueError("interval must be between 1s and 5m")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not is_valid_label_name(name):
                raise ValueError(f"invalid label name {name!r}")
            if name in RESERVED_LABELS:
                raise ValueError(f"label {name!r} is set by Watchkeeper; choose another name")
        return value

    @property
    def error_budget(self) -> float:
        """The allowed share of bad events, e.g. 0.001 for 99.9 %."""
        return round(1.0 - self.objective / 100.0, 12)

    @property
    def window_days(self) -> int:
        return int(float(self.window) // 86400)


Problems = list[tuple[tuple[str | int, ...], str]]


def semantic_problems(cfg: WatchkeeperConfig) -> Problems:
    """SLO names are unique and name a configured service."""
    problems: Problems = []
    services = [s.name for s in cfg.services]
    seen: set[str] = set()
    for i, slo in enumerate(cfg.slos):
        if slo.name in seen:
            problems.append((("slos", i, "name"), f"duplicate SLO name {slo.name!r}"))
        seen.add(slo.name)
        if slo.service not in services:
            problems.append(
                (
                    ("slos", i, "service"),
                    f"unknown service {slo.service!r}; known services: "
                    f"{', '.join(services) or 'none (add them under services:)'}",
                )
            )
    return problems
