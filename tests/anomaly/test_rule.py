"""The anomaly rule kind: config validation and the per-series evaluator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from watchkeeper.anomaly.base import DetectorStateError
from watchkeeper.anomaly.rule import AnomalyEvaluator, AnomalyRuleConfig
from watchkeeper.core.errors import LimitExceededError, QueryError
from watchkeeper.core.labels import Labels

from .conftest import noisy_series

SMALL = {"history": 50, "window": 6, "warmup": 10, "refractory": 5}


def rule(**overrides: object) -> AnomalyRuleConfig:
    doc: dict[str, object] = {
        "name": "LatencyAnomaly",
        "expr": 'http_request_duration_seconds{job="api"}',
        "params": SMALL,
    }
    doc.update(overrides)
    return AnomalyRuleConfig.model_validate(doc)


API = Labels.of(__name__="latency", job="api", instance="a")
WEB = Labels.of(__name__="latency", job="web", instance="b")


def test_the_config_has_prometheus_style_fields_and_a_half_threshold_by_default() -> None:
    cfg = AnomalyRuleConfig.model_validate(
        {"name": "X", "expr": "up", "for": "5m", "labels": {"severity": "page"}}
    )
    assert cfg.detector == "novelty"
    assert cfg.threshold == 0.5
    assert float(cfg.for_) == 300.0
    assert cfg.labels == {"severity": "page"}
    assert cfg.detector_settings()["params"]["margin"] == 0.1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"detector": "prophet"}, "unknown detector 'prophet'; choose one of: novelty"),
        ({"params": {"margin": -1}}, r"params\.margin: Input should be greater than 0"),
        ({"params": {"marginn": 0.1}}, r"params\.marginn: Extra inputs are not permitted"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"name": "  "}, "non-empty name"),
        ({"labels": {"bad-name": "x"}}, "invalid label name 'bad-name'"),
        ({"expr": ""}, "expr"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rule(**overrides)


def test_scores_go_to_an_anomaly_score_series_per_source_series() -> None:
    ev = AnomalyEvaluator(rule())
    result = ev.observe(API, 1000.0, 1.0)
    assert result is not None
    assert result.labels == Labels.of(
        __name__="anomaly_score", anomaly_rule="LatencyAnomaly", job="api", instance="a"
    )
    assert result.source == API
    ev.observe(WEB, 1000.0, 5.0)
    assert len(ev.series()) == 2


def test_each_series_learns_on_its_own() -> None:
    values_a = noisy_series(300, seed=1)
    values_b = noisy_series(300, seed=2) * 100
    ev = AnomalyEvaluator(rule())
    mixed = []
    for i in range(300):
        mixed.append(ev.observe(API, float(i), values_a[i]))
        ev.observe(WEB, float(i), values_b[i])
    alone = AnomalyEvaluator(rule())
    single = [alone.observe(API, float(i), values_a[i]) for i in range(300)]
    assert [r.score for r in mixed if r] == [r.score for r in single if r]


def test_a_repeated_timestamp_returns_the_same_score_and_an_older_one_is_dropped() -> None:
    ev = AnomalyEvaluator(rule())
    for i in range(100):
        ev.observe(API, float(i), float(i % 7))
    first = ev.observe(API, 100.0, 500.0)
    again = ev.observe(API, 100.0, 500.0)
    assert first is not None
    assert again is not None
    assert first.score == again.score
    assert first.above_threshold
    assert again.above_threshold
    assert ev.observe(API, 50.0, 1.0) is None


def test_the_state_survives_a_restart_through_json() -> None:
    values = noisy_series(400, seed=5)
    values[350] += 30
    cfg = rule()
    live = AnomalyEvaluator(cfg)
    for i in range(200):
        live.observe(API, float(i), values[i])
        live.observe(WEB, float(i), -values[i])
    saved = json.loads(json.dumps(live.state()))
    resumed = AnomalyEvaluator(cfg)
    outcome = resumed.restore(saved)
    assert (outcome.restored, outcome.discarded) == (2, 0)
    for i in range(200, 400):
        a = live.observe(API, float(i), values[i])
        b = resumed.observe(API, float(i), values[i])
        assert a == b
    assert resumed.observe(API, 100.0, 0.0) is None  # the last timestamp was restored too


def test_changed_detector_params_discard_the_saved_state_and_say_why() -> None:
    live = AnomalyEvaluator(rule())
    live.observe(API, 1.0, 1.0)
    changed = AnomalyEvaluator(rule(params={**SMALL, "margin": 0.3}))
    outcome = changed.restore(live.state())
    assert (outcome.restored, outcome.discarded) == (0, 1)
    assert "learning starts again" in outcome.reasons[0]
    assert changed.series() == []


def test_a_damaged_series_entry_is_discarded_and_the_others_restored() -> None:
    live = AnomalyEvaluator(rule())
    live.observe(API, 1.0, 1.0)
    live.observe(WEB, 1.0, 1.0)
    state = live.state()
    state["series"][0]["state"]["data"]["raw"]["f8"] = "%%%"
    fresh = AnomalyEvaluator(rule())
    outcome = fresh.restore(state)
    assert (outcome.restored, outcome.discarded) == (1, 1)
    assert "series 0" in outcome.reasons[0]


def test_something_that_is_not_an_evaluator_state_is_refused() -> None:
    with pytest.raises(DetectorStateError, match="not an anomaly rule state"):
        AnomalyEvaluator(rule()).restore({"kind": "alerts"})


def test_the_number_of_scored_series_is_bounded() -> None:
    ev = AnomalyEvaluator(rule(max_series=2))
    ev.observe(API, 1.0, 1.0)
    ev.observe(WEB, 1.0, 1.0)
    with pytest.raises(LimitExceededError, match="max_series"):
        ev.observe(Labels.of(job="db"), 1.0, 1.0)


def test_series_that_differ_only_by_metric_name_collide_with_a_clear_error() -> None:
    ev = AnomalyEvaluator(rule())
    ev.observe(API, 1.0, 1.0)
    with pytest.raises(QueryError, match="both map to"):
        ev.observe(API.with_(__name__="other"), 1.0, 1.0)


def test_stale_series_are_dropped_and_forgotten_series_start_again() -> None:
    ev = AnomalyEvaluator(rule())
    ev.observe(API, 10.0, 1.0)
    ev.observe(WEB, 100.0, 1.0)
    assert ev.drop_stale(before=50.0) == 1
    assert ev.series() == [ev.output_labels(WEB)]
    assert ev.forget(WEB)
    assert not ev.forget(WEB)


def test_backfill_scores_like_observing_one_sample_at_a_time() -> None:
    values = noisy_series(500, seed=9)
    values[450] += 40
    t = np.arange(500.0)
    ev = AnomalyEvaluator(rule())
    head = [ev.observe(API, t[i], values[i]) for i in range(100)]
    batch = ev.backfill(API, t, values)  # the first 100 are already known: they score 0
    one = AnomalyEvaluator(rule())
    observed = [one.observe(API, a, b) for a, b in zip(t, values, strict=True)]
    each = np.array([r.score for r in observed if r is not None])
    assert np.array_equal(batch[100:], each[100:])
    assert np.all(batch[:100] == 0.0)
    assert [r.score for r in head if r] == each[:100].tolist()
    with pytest.raises(ValueError, match="must increase"):
        ev.backfill(API, [600.0, 600.0], [1.0, 2.0])
