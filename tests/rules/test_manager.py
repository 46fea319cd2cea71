"""The rule manager on a fake clock, with the embedded store and the PromQL engine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import RuleHealth
from watchkeeper.rules.loader import load_rule_text
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.tsdb.embedded import EmbeddedStore

RULES = """groups:
  - name: app
    interval: 60s
    rules:
      - record: job:errors:sum
        expr: sum by (job) (errors)
      - alert: TooManyErrors
        expr: job:errors:sum > 5
      - alert: Broken
        expr: '{__name__=~"errors|errors_copy"} > 0'
      - alert: StillRuns
        expr: errors > 100
"""


class Sink:
    def __init__(self) -> None:
        self.alerts: list[AlertInput] = []

    async def put(self, alerts: Sequence[AlertInput]) -> None:
        self.alerts.extend(alerts)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_700_000_000.0)


def build(clock: FakeClock, rules: str = RULES) -> tuple[RuleManager, EmbeddedStore, Sink]:
    store = EmbeddedStore.memory(clock=clock)
    engine = Engine(store, clock=clock)
    sink = Sink()
    manager = RuleManager(
        query=engine.samples,
        metrics_of=referenced_metrics,
        store=store,
        sink=sink,
        clock=clock,
        options=RuleManagerOptions(min_event_spacing=0.0),
    )
    manager.load(load_rule_text(rules, "app.yml"))
    return manager, store, sink


def write(store: EmbeddedStore, clock: FakeClock, value: float) -> None:
    t = int(clock.now() * 1000)
    labels = Labels({"__name__": "errors", "job": "api", "instance": "a"})
    store.append([(labels, t, value), (labels.with_(__name__="errors_copy"), t, value)])


async def test_a_later_rule_reads_what_an_earlier_one_recorded_in_the_same_evaluation(
    clock: FakeClock,
) -> None:
    manager, store, sink = build(clock)
    write(store, clock, 7.0)
    (group,) = manager.groups
    await manager.evaluate_group(group, clock.now())
    assert {a.labels["alertname"] for a in sink.alerts} == {"TooManyErrors"}
    assert sink.alerts[0].labels["job"] == "api"


async def test_a_failing_rule_is_unhealthy_and_the_rules_after_it_still_run(
    clock: FakeClock,
) -> None:
    manager, store, sink = build(clock)
    write(store, clock, 500.0)
    (group,) = manager.groups
    await manager.evaluate_group(group, clock.now())
    health = [group.rule_status(i).health for i in range(len(group.rules))]
    assert health == [RuleHealth.OK, RuleHealth.OK, RuleHealth.ERROR, RuleHealth.OK]
    assert "same labelset" in group.rule_status(2).last_error
    assert {a.labels["alertname"] for a in sink.alerts} == {"TooManyErrors", "StillRuns"}


async def test_new_samples_of_a_metric_a_rule_reads_trigger_an_evaluation_at_once(
    clock: FakeClock,
) -> None:
    manager, store, sink = build(clock)
    await manager.start()
    try:
        await clock.advance(1.0)  # no interval tick within the first minute's first second
        assert sink.alerts == []
        write(store, clock, 7.0)
        for _ in range(50):
            await asyncio.sleep(0.01)
            if sink.alerts:
                break
        assert {a.labels["alertname"] for a in sink.alerts} == {"TooManyErrors"}
    finally:
        await manager.stop()


async def test_samples_of_a_metric_no_rule_reads_trigger_nothing(clock: FakeClock) -> None:
    # (a selector without a fixed metric name would make the group run on every append)
    only_errors = "\n".join(RULES.splitlines()[:8]) + "\n"
    manager, store, _sink = build(clock, only_errors)
    await manager.start()
    try:
        (group,) = manager.groups
        assert group.triggers == frozenset({"errors"})
        store.append([(Labels({"__name__": "unrelated"}), int(clock.now() * 1000), 1.0)])
        await asyncio.sleep(0.05)
        assert group.last_evaluation is None
    finally:
        await manager.stop()


def alerting_rule(manager: RuleManager, name: str) -> AlertingRule:
    (rule,) = [r for g in manager.groups for r in g.rules if r.name == name]
    assert isinstance(rule, AlertingRule)
    return rule


def test_a_reload_keeps_an_alerting_rules_state_and_its_hold(clock: FakeClock) -> None:
    manager, _store, _sink = build(clock)
    before = alerting_rule(manager, "TooManyErrors")
    before.hold_until = clock.now() + 30
    manager.load(load_rule_text(RULES, "app.yml"))
    after = alerting_rule(manager, "TooManyErrors")
    assert after is not before
    assert after.streaks is before.streaks
    assert after.hold_until == clock.now() + 30
