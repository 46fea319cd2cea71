"""Prometheus rule files as config models (``groups`` of ``alert`` / ``record`` rules).

Files in Prometheus' format load unchanged. Watchkeeper adds two optional fields to
alerting rules, for hysteresis counted in evaluations: ``fire_after_consecutive`` (the
condition must hold on N consecutive evaluations before the alert becomes active) and
``resolve_after_consecutive`` (it must be clear on M consecutive evaluations to resolve).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.labels import is_valid_label_name, is_valid_metric_name


class RuleConfig(StrictModel):
    alert: str | None = None
    record: str | None = None
    expr: str
    for_: Duration = Field(Duration(0), alias="for")
    keep_firing_for: Duration = Duration(0)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    fire_after_consecutive: int = Field(1, ge=1)
    resolve_after_consecutive: int = Field(1, ge=1)

    @field_validator("expr", mode="before")
    @classmethod
    def _expr_text(cls, value: object) -> object:
        # YAML turns `expr: 1` into an int; PromQL accepts it as a number literal.
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @model_validator(mode="after")
    def _kind(self) -> RuleConfig:
        if (self.alert is None) == (self.record is None):
            raise ValueError("a rule needs exactly one of 'alert' or 'record'")
        if self.record is not None:
            if not is_valid_metric_name(self.record):
                raise ValueError(
                    f"record name {self.record!r} is not a valid metric name "
                    "(letters, digits, _ and :, not starting with a digit)"
                )
            extra = [
                name
                for name, set_ in (
                    ("for", float(self.for_) != 0.0),
                    ("keep_firing_for", float(self.keep_firing_for) != 0.0),
                    ("annotations", bool(self.annotations)),
                )
                if set_
            ]
            if extra:
                raise ValueError(f"recording rule {self.record!r} cannot have {', '.join(extra)}")
        elif self.alert is not None and not self.alert.strip():
            raise ValueError("alert name must not be empty")
        for name in self.labels:
            if not is_valid_label_name(name):
                raise ValueError(f"invalid label name {name!r}")
        return self

    @property
    def name(self) -> str:
        return self.alert if self.alert is not None else str(self.record)

    @property
    def is_alert(self) -> bool:
        return self.alert is not None


class RuleGroupConfig(StrictModel):
    name: str = Field(min_length=1)
    interval: Duration | None = None
    limit: int = Field(0, ge=0, description="0 = no limit on alerts/series a rule may produce")
    query_offset: Duration = Duration(0)
    labels: dict[str, str] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)


class RuleFileConfig(StrictModel):
    groups: list[RuleGroupConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_groups(self) -> RuleFileConfig:
        seen: set[str] = set()
        for group in self.groups:
            if group.name in seen:
                raise ValueError(f"duplicate rule group name {group.name!r} in one file")
            seen.add(group.name)
        return self
