"""The alert state machine as timelines: each evaluation at a given time with given results."""

from __future__ import annotations

import pytest

from watchkeeper.core.enums import AlertState
from watchkeeper.core.labels import Labels
from watchkeeper.rules.alerting_rule import RESOLVED_RETENTION_S, AlertingRule, RuleEvaluationError
from watchkeeper.rules.model import RuleConfig
from watchkeeper.rules.template import TemplateRenderer

R = TemplateRenderer()
UP = Labels({"__name__": "up", "job": "api", "instance": "a"})


def rule(**kwargs: object) -> AlertingRule:
    cfg = RuleConfig.model_validate(
        {"alert": "Down", "expr": "up == 0", "labels": {"severity": "page"}, **kwargs}
    )
    return AlertingRule(cfg)


def step(r: AlertingRule, ts: float, present: bool, value: float = 0.0) -> list[tuple[str, str]]:
    results = [(UP, value)] if present else []
    transitions = r.evaluate(results, ts, R, external_labels={}, external_url="")
    return [(t.old.value, t.new.value) for t in transitions]


def test_alert_without_for_goes_pending_then_firing_in_one_evaluation() -> None:
    r = rule()
    assert step(r, 0, True) == [("inactive", "pending"), ("pending", "firing")]
    (alert,) = r.alerts()
    assert alert.labels == Labels(
        {"alertname": "Down", "job": "api", "instance": "a", "severity": "page"}
    )
    assert alert.fired_at == 0


def test_for_keeps_alert_pending_until_the_hold_duration_passes() -> None:
    r = rule(**{"for": "1m"})
    assert step(r, 0, True) == [("inactive", "pending")]
    assert step(r, 30, True) == []
    assert r.state() is AlertState.PENDING
    assert step(r, 60, True) == [("pending", "firing")]
    assert r.alerts()[0].active_at == 0


def test_pending_alert_that_clears_is_dropped_without_resolving() -> None:
    r = rule(**{"for": "1m"})
    step(r, 0, True)
    assert step(r, 15, False) == [("pending", "inactive")]
    assert r.alerts() == []
    # Coming back starts the hold anew.
    step(r, 30, True)
    assert r.alerts()[0].active_at == 30


def test_firing_alert_resolves_and_is_retained_for_fifteen_minutes() -> None:
    r = rule()
    step(r, 0, True)
    assert step(r, 15, False) == [("firing", "resolved")]
    (alert,) = r.alerts()
    assert alert.state is AlertState.INACTIVE
    assert alert.resolved_at == 15
    step(r, 15 + RESOLVED_RETENTION_S, False)
    assert len(r.alerts()) == 1
    step(r, 16 + RESOLVED_RETENTION_S, False)
    assert r.alerts() == []


def test_keep_firing_for_holds_a_firing_alert_after_the_condition_clears() -> None:
    r = rule(keep_firing_for="30s")
    step(r, 0, True)
    assert step(r, 10, False) == []
    assert step(r, 35, False) == []
    assert r.state() is AlertState.FIRING
    assert step(r, 40, False) == [("firing", "resolved")]


def test_keep_firing_for_restarts_when_the_condition_returns() -> None:
    r = rule(keep_firing_for="30s")
    step(r, 0, True)
    step(r, 10, False)
    step(r, 20, True)
    assert step(r, 45, False) == []  # the 30 s count starts again at 45
    assert step(r, 74, False) == []
    assert step(r, 75, False) == [("firing", "resolved")]


def test_fire_after_consecutive_needs_n_evaluations_in_a_row() -> None:
    r = rule(fire_after_consecutive=3)
    assert step(r, 0, True) == []
    assert step(r, 15, True) == []
    assert step(r, 30, False) == []  # the streak breaks
    assert step(r, 45, True) == []
    assert step(r, 60, True) == []
    assert step(r, 75, True) == [("inactive", "pending"), ("pending", "firing")]


def test_resolve_after_consecutive_needs_m_clear_evaluations_in_a_row() -> None:
    r = rule(resolve_after_consecutive=2)
    step(r, 0, True)
    assert step(r, 15, False) == []
    assert step(r, 30, True) == []  # clear streak broken
    assert step(r, 45, False) == []
    assert step(r, 60, False) == [("firing", "resolved")]


def test_refiring_after_resolution_starts_a_new_alert() -> None:
    r = rule()
    step(r, 0, True)
    step(r, 15, False)
    assert step(r, 30, True) == [("inactive", "pending"), ("pending", "firing")]
    alert = r.alerts()[0]
    assert alert.fired_at == 30
    assert alert.resolved_at is None


def test_held_alerts_missing_from_the_results_neither_resolve_nor_drop_until_the_hold_ends() -> (
    None
):
    r = rule(**{"for": "1m"})
    step(r, 0, True)
    step(r, 60, True)  # firing since 60
    r.hold_until = 100.0  # as a new cluster leader that restored it sets
    assert step(r, 75, False) == []
    assert step(r, 90, False) == []
    assert r.state() is AlertState.FIRING
    assert step(r, 95, True) == []  # the series is back: the same alert carries on
    assert r.alerts()[0].fired_at == 60
    assert step(r, 99, False) == []
    assert step(r, 100, False) == [("firing", "resolved")]


def test_a_held_pending_alert_keeps_its_for_timer() -> None:
    r = rule(**{"for": "1m"})
    step(r, 0, True)
    r.hold_until = 30.0
    assert step(r, 15, False) == []
    assert step(r, 60, True) == [("pending", "firing")]
    assert r.alerts()[0].active_at == 0


def test_annotations_render_labels_and_value_on_every_evaluation() -> None:
    r = rule(annotations={"summary": "{{ $labels.instance }} of {{ $labels.job }} is {{ $value }}"})
    step(r, 0, True, 0.0)
    assert r.alerts()[0].annotations["summary"] == "a of api is 0"
    step(r, 15, True, 2.5)
    assert r.alerts()[0].annotations["summary"] == "a of api is 2.5"


def test_duplicate_label_sets_after_dropping_the_name_are_an_error() -> None:
    r = rule()
    results = [(UP, 0.0), (UP.with_(__name__="other"), 0.0)]
    with pytest.raises(RuleEvaluationError, match="same labelset"):
        r.evaluate(results, 0, R, external_labels={}, external_url="")
