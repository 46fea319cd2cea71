"""A timeline harness: synthetic request counters in the embedded store, the SLO's
generated rules evaluated by the real rule manager on a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.model import AlertInput
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.rules.slo import slo_rule_groups
from watchkeeper.tsdb.embedded import EmbeddedStore

START = 1_700_000_000.0


class Sink:
    def __init__(self) -> None:
        self.received: list[AlertInput] = []

    async def put(self, alerts: Sequence[AlertInput]) -> None:
        self.received.extend(alerts)


def config_text(slo: dict[str, Any]) -> str:
    import json

    return f"services:\n  - name: api\nslos:\n  - {json.dumps(slo)}\n"


@dataclass
class Traffic:
    """Counters of an HTTP service: ``ok`` and ``failed`` requests so far."""

    ok: float = 0.0
    failed: float = 0.0


@dataclass
class Timeline:
    slo: dict[str, Any]
    scrape: float = 15.0
    evaluate_every: float = 60.0
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))

    def __post_init__(self) -> None:
        cfg = load_config_text(config_text(self.slo)).config
        self.store = EmbeddedStore.memory(clock=self.clock)
        self.engine = Engine(self.store, clock=self.clock)
        self.sink = Sink()
        self.rules = RuleManager(
            query=self.engine.samples,
            metrics_of=referenced_metrics,
            store=self.store,
            sink=self.sink,
            clock=self.clock,
            options=RuleManagerOptions(event_driven=False),
        )
        self.rules.load(slo_rule_groups(cfg))
        self.traffic = Traffic()
        self.next_eval = START
        self.alert_log: list[tuple[float, set[str]]] = []

    def _append(self, ts: float) -> None:
        ms = int(ts * 1000)
        base = {"__name__": "http_requests_total", "service": "api"}
        self.store.append(
            [
                (Labels({**base, "code": "200"}), ms, self.traffic.ok),
                (Labels({**base, "code": "500"}), ms, self.traffic.failed),
            ]
        )

    def requests(self, *, ok: int = 0, failed: int = 0) -> None:
        """Single requests served right now (seen at the next scrape)."""
        self.traffic.ok += ok
        self.traffic.failed += failed

    async def run(
        self,
        seconds: float,
        *,
        ok_per_min: float = 0.0,
        failed_per_min: float = 0.0,
        evaluate_every: float | None = None,
    ) -> None:
        """Serve traffic at these rates for ``seconds``, scraping and evaluating."""
        every = evaluate_every or self.evaluate_every
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            now = self.clock.now()
            self._append(now)
            while self.next_eval <= now:
                for group in self.rules.groups:
                    await self.rules.evaluate_group(group, self.next_eval)
                self.alert_log.append((self.next_eval, self.firing_alerts()))
                self.next_eval += every
            self.traffic.ok += ok_per_min * self.scrape / 60
            self.traffic.failed += failed_per_min * self.scrape / 60
            self.clock.set(now + self.scrape)

    def value(self, expr: str) -> list[tuple[Labels, float]]:
        return list(self.engine.samples(expr, self.clock.now()))

    def firing_alerts(self) -> set[str]:
        return {
            rule.name
            for group in self.rules.groups
            for rule in group.rules
            if isinstance(rule, AlertingRule) and rule.state().value == "firing"
        }

    def first_firing(self, alertname: str) -> float | None:
        return next((ts for ts, names in self.alert_log if alertname in names), None)

    def firing(self, alertname: str) -> bool:
        for group in self.rules.groups:
            for rule in group.rules:
                if isinstance(rule, AlertingRule) and rule.name == alertname:
                    return rule.state().value == "firing"
        raise KeyError(alertname)
