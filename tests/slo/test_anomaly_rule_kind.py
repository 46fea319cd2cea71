"""The anomaly rule kind in the rules stage: scores written as series by the rule
manager's hook, alerts through the usual state machine, streaming on the rule's grid,
and learnt state that survives a restart. Timelines on a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from watchkeeper.alerting.model import AlertInput
from watchkeeper.anomaly.rule import AnomalyEvaluator
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import ConfigError
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.anomaly import (
    AnomalyRuleEntry,
    AnomalyRunner,
    AnomalyStateStore,
    anomaly_rule_groups,
)
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.state.db import Database
from watchkeeper.tsdb.base import is_stale_nan
from watchkeeper.tsdb.embedded import EmbeddedStore

START = 1_700_000_040.0  # on the 1-minute grid
STEP = 60.0
SMALL = {"history": 50, "window": 6, "warmup": 10, "refractory": 5}
SERIES = Labels.of(__name__="latency", service="api")


def entry(**overrides: Any) -> AnomalyRuleEntry:
    doc: dict[str, Any] = {
        "name": "LatencyAnomaly",
        "expr": 'latency{service="api"}',
        "params": SMALL,
        "interval": "1m",
        "labels": {"severity": "warning"},
    }
    doc.update(overrides)
    return AnomalyRuleEntry.model_validate(doc)


class Sink:
    def __init__(self) -> None:
        self.received: list[AlertInput] = []

    async def put(self, alerts: Sequence[AlertInput]) -> None:
        self.received.extend(alerts)


class Stack:
    def __init__(self, rules: list[AnomalyRuleEntry], db: Database | None = None) -> None:
        self.clock = FakeClock(START)
        self.store = EmbeddedStore.memory(clock=self.clock)
        self.engine = Engine(self.store, clock=self.clock)
        self.sink = Sink()
        self.runner = AnomalyRunner(
            query=self.engine.samples,
            store=self.store,
            clock=self.clock,
            state=AnomalyStateStore(db) if db is not None else None,
            save_every=600,
        )
        self.runner.load(rules, 15.0)
        self.rules = RuleManager(
            query=self.engine.samples,
            metrics_of=referenced_metrics,
            store=self.store,
            sink=self.sink,
            clock=self.clock,
            options=RuleManagerOptions(event_driven=False),
            before_evaluation=[self.runner.before_evaluation],
        )
        self.rules.load(anomaly_rule_groups(rules, 15.0))

    def write(self, value: float, at: float | None = None, labels: Labels = SERIES) -> None:
        ts = self.clock.now() if at is None else at
        self.store.append([(labels, int(ts * 1000), value)])

    async def evaluate(self) -> None:
        for group in self.rules.groups:
            await self.rules.evaluate_group(group, self.clock.now())

    async def feed(self, values: Sequence[float]) -> None:
        """One sample per step, each followed by an evaluation."""
        for value in values:
            self.write(value)
            await self.evaluate()
            self.clock.set(self.clock.now() + STEP)

    def scores(self) -> list[float]:
        """Every score written, in time order (staleness markers left out)."""
        matchers = [
            Matcher.equal("__name__", "anomaly_score"),
            Matcher.equal("anomaly_rule", "LatencyAnomaly"),
        ]
        (data,) = self.store.select(matchers, 0, int(self.clock.now() * 1000) + 1)
        return [float(v) for v in data.values if not is_stale_nan(float(v))]

    def alert(self) -> AlertingRule:
        (group,) = self.rules.groups
        (rule,) = group.rules
        if not isinstance(rule, AlertingRule):
            raise TypeError(rule)
        return rule


def wave(n: int, phase: int = 0) -> list[float]:
    """A steady series: 0.19, 0.20, 0.21 over and over."""
    return [0.2 + 0.01 * (((i + phase) % 3) - 1) for i in range(n)]


def test_anomaly_rules_load_from_config_as_one_group_per_interval() -> None:
    text = """anomaly_rules:
  - name: A
    expr: up
  - name: B
    expr: up
    interval: 1m
    for: 2m
  - name: C
    expr: up
"""
    cfg = load_config_text(text).config
    groups = anomaly_rule_groups(cfg.anomaly_rules, float(cfg.global_.evaluation_interval))
    assert [(g.key, [r.alert for r in g.config.rules]) for g in groups] == [
        ("anomaly_rules;anomaly:15s", ["A", "C"]),
        ("anomaly_rules;anomaly:1m", ["B"]),
    ]
    b = groups[1].config.rules[0]
    assert b.expr == 'anomaly_score{anomaly_rule="B"} >= 0.5'
    assert float(b.for_) == 120


def test_anomaly_rule_mistakes_are_reported_with_their_lines() -> None:
    text = """anomaly_rules:
  - name: A
    expr: up
  - name: A
    expr: rate(up[5m)
    detector: nope
"""
    with pytest.raises(ConfigError) as info:
        load_config_text(text)
    assert any(
        p.startswith("watchkeeper.yaml:4: anomaly_rules[1]") and "unknown detector" in p
        for p in info.value.problems
    )
    dup = "anomaly_rules:\n  - name: A\n    expr: up\n  - name: A\n    expr: rate(up[5m)\n"
    with pytest.raises(ConfigError) as info:
        load_config_text(dup)
    assert "watchkeeper.yaml:4: anomaly_rules[1].name: duplicate anomaly rule name 'A'" in (
        info.value.problems
    )
    assert any("anomaly_rules[1].expr: invalid PromQL" in p for p in info.value.problems)


async def test_a_spike_scores_high_and_fires_the_alert_after_for() -> None:
    s = Stack([entry(threshold=0.3, **{"for": "2m"})])
    await s.feed(wave(40))
    assert max(s.scores()) < 0.3
    assert s.alert().state().value == "inactive"
    await s.feed([2.0])
    assert s.scores()[-1] >= 0.5
    assert s.alert().state().value == "pending"
    await s.feed([2.0, 2.0])
    assert s.alert().state().value == "firing"
    await s.feed(wave(3))
    assert s.alert().state().value == "inactive"  # resolved
    (sent,) = {a.labels["alertname"] for a in s.sink.received}
    assert sent == "LatencyAnomaly"
    alert = s.sink.received[0]
    assert alert.labels["anomaly_rule"] == "LatencyAnomaly"
    assert alert.labels["service"] == "api"
    assert alert.labels["severity"] == "warning"
    assert "anomaly score" in alert.annotations["summary"]


async def test_scores_are_the_streaming_scores_of_the_values_on_the_grid() -> None:
    s = Stack([entry()])
    values = [*wave(40), 2.0, *wave(10, phase=1)]
    await s.feed(values)
    reference = AnomalyEvaluator(entry())
    expected = [reference.observe(SERIES, i, v).score for i, v in enumerate(values)]  # type: ignore[union-attr]
    assert s.scores() == pytest.approx(expected)


async def test_evaluations_between_grid_points_score_nothing_new() -> None:
    s = Stack([entry()])
    s.write(0.2)
    await s.evaluate()
    s.clock.set(START + 20)
    s.write(0.3)
    written = s.runner.evaluate(["LatencyAnomaly"], s.clock.now())
    assert written == 0  # 20 s later: the same 1-minute grid point, nothing scored again
    assert len(s.scores()) == 1
    assert s.runner.rules()[0]["series"] == 1


async def test_missed_grid_points_are_caught_up_in_order() -> None:
    s = Stack([entry()])
    for i in range(5):
        s.write(0.2 + i / 100, at=START + i * STEP)
    await s.evaluate()
    s.clock.set(START + 4 * STEP)
    await s.evaluate()
    reference = AnomalyEvaluator(entry())
    expected = [
        reference.observe(SERIES, i, 0.2 + i / 100).score  # type: ignore[union-attr]
        for i in range(5)
    ]
    assert s.scores() == pytest.approx(expected)


async def test_a_series_that_disappears_gets_a_staleness_marker() -> None:
    s = Stack([entry(expr="latency")])
    other = Labels.of(__name__="latency", service="web")
    s.write(0.2)
    s.write(0.3, labels=other)
    await s.evaluate()
    s.clock.set(START + 10 * STEP)  # both series are older than the 5 m lookback now
    s.write(0.2)
    await s.evaluate()
    data = s.store.select([], 0, int(s.clock.now() * 1000) + 1)
    web = [d for d in data if d.labels.get("service") == "web" and d.labels.get("anomaly_rule")]
    (series,) = web
    assert is_stale_nan(float(series.values[-1]))


async def test_a_failing_expression_is_reported_and_the_group_still_runs() -> None:
    # two series on the right for one on the left: a many-to-many matching error
    s = Stack([entry(expr="latency / on() group_left latency")])
    s.write(0.2)
    s.write(0.3, labels=Labels.of(__name__="latency", service="web"))
    await s.evaluate()
    (status,) = s.runner.rules()
    assert status["health"] == "err"
    assert status["last_error"]
    (group,) = s.rules.groups
    assert group.last_evaluation == START


async def test_learnt_state_survives_a_restart(state_db: Database) -> None:
    values = [*wave(60), 2.0, *wave(20, phase=2)]
    whole = Stack([entry()])
    await whole.feed(values)

    first = Stack([entry()], db=state_db)
    await first.feed(values[:45])
    first.runner.save()
    # a new process: new store, new runner, the same database
    second = Stack([entry()], db=state_db)
    second.clock.set(first.clock.now())
    second.store.append(
        [(SERIES, int((START + i * STEP) * 1000), v) for i, v in enumerate(values[:45])]
    )
    await second.feed(values[45:])
    restarted = second.scores()[-len(values[45:]) :]
    assert restarted == pytest.approx(whole.scores()[45:])
    assert max(restarted) >= 0.5


async def test_a_changed_detector_discards_the_saved_state(state_db: Database) -> None:
    first = Stack([entry()], db=state_db)
    await first.feed(wave(30))
    first.runner.save()
    changed = entry(params={**SMALL, "margin": 0.3})
    second = Stack([changed], db=state_db)
    assert second.runner.rules()[0]["series"] == 0
    assert second.runner.rules()[0]["last_point"] is None
