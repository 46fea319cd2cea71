"""The ``promtool test rules`` file format as config models: ``rule_files``,
``evaluation_interval``, ``group_eval_order`` and ``tests``, each test with
``input_series`` (the expanding notation ``0+10x5 _ stale``), ``alert_rule_test`` and
``promql_expr_test``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration


def _text(value: Any) -> Any:
    """YAML reads ``values: 1`` or a label value ``5`` as numbers; promtool reads text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _text_map(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    return value


Text = Annotated[str, BeforeValidator(_text)]
TextMap = Annotated[dict[str, str], BeforeValidator(_text_map)]


class InputSeries(StrictModel):
    series: str = Field(description='metric{label="value"}')
    values: Text = Field("", description="expanding notation, e.g. 1+1x10 _ stale")


class ExpectedAlert(StrictModel):
    exp_labels: TextMap = Field(default_factory=dict)
    exp_annotations: TextMap = Field(default_factory=dict)


class AlertTestCase(StrictModel):
    eval_time: Duration
    alertname: str
    exp_alerts: list[ExpectedAlert] = Field(default_factory=list)


class ExpectedSample(StrictModel):
    labels: Text = ""
    value: float = 0.0


class PromqlTestCase(StrictModel):
    expr: Text
    eval_time: Duration
    exp_samples: list[ExpectedSample] = Field(default_factory=list)


class RuleTestGroup(StrictModel):
    name: str = ""
    interval: Duration | None = None
    input_series: list[InputSeries] = Field(default_factory=list)
    alert_rule_test: list[AlertTestCase] = Field(default_factory=list)
    promql_expr_test: list[PromqlTestCase] = Field(default_factory=list)
    external_labels: TextMap = Field(default_factory=dict)
    external_url: str = ""


class RuleTestFile(StrictModel):
    rule_files: list[str] = Field(default_factory=list)
    evaluation_interval: Duration = Duration(60)
    group_eval_order: list[str] = Field(default_factory=list)
    tests: list[RuleTestGroup] = Field(default_factory=list)
