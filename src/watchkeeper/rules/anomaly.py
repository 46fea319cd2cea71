"""The anomaly rule kind in the rules stage.

Config: a root ``anomaly_rules:`` list (not an entry in Prometheus rule files, which stay
loadable by Prometheus and promtool unchanged). Each entry is an
:class:`~watchkeeper.anomaly.rule.AnomalyRuleConfig` plus an optional ``interval``::

    anomaly_rules:
      - name: QuoteLatencyAnomaly
        expr: service:quote_duration_seconds:p95_20s{service="backend"}
        interval: 30s
        threshold: 0.5
        for: 1m
        labels: {severity: warning}

Rules of one interval form one rule group ``anomaly:<interval>`` (file ``anomaly_rules``)
holding, per rule, the alerting rule ``anomaly_score{anomaly_rule="<name>"} >=
<threshold>`` with the rule's ``for``, ``keep_firing_for``, labels and annotations: the
usual alert state machine and flap control decide when it fires.

:class:`AnomalyRunner` is the rule manager's hook for those groups: before the group's
alerting rules run at time ``t`` it evaluates each expression at the points of the rule's
interval grid up to ``t`` (catching up on missed points, at most ``max_catchup``), feeds
every output series to the rule's :class:`~watchkeeper.anomaly.rule.AnomalyEvaluator` and
writes the scores as ``anomaly_score{anomaly_rule="<name>", <series labels>}``. A score
uses only what the expression returned at its own grid point (streaming, causal). The
evaluators' learnt state is saved in the state database every ``save_every`` seconds and
when the runner closes, and restored when it loads (state of changed detector settings is
discarded, with the reason logged).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import Field

from watchkeeper.anomaly.base import DetectorStateError
from watchkeeper.anomaly.rule import SCORE_METRIC, AnomalyEvaluator, AnomalyRuleConfig
from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.core.durations import Duration, format_duration
from watchkeeper.core.errors import LimitExceededError, QueryError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import parse
from watchkeeper.rules.model import RuleConfig, RuleGroupConfig
from watchkeeper.rules.template import TemplateRenderer, TemplateTranslationError
from watchkeeper.state.tables.quality import anomaly_state
from watchkeeper.tsdb.base import STALE_NAN

if TYPE_CHECKING:  # the config model imports this module: keep its imports light
    from watchkeeper.rules.group import RuleGroup
    from watchkeeper.rules.loader import LoadedGroup
    from watchkeeper.state.db import Database
    from watchkeeper.tsdb.base import SeriesStore

log = logging.getLogger(__name__)

SOURCE_NAME = "anomaly_rules"
QueryFunc = Callable[[str, float], Sequence[tuple[Labels, float]]]
DEFAULT_ANNOTATIONS = {
    "summary": '{{ $labels.anomaly_rule }}: anomaly score {{ $value | printf "%.2f" }}',
}


class AnomalyRuleEntry(AnomalyRuleConfig):
    """One entry of ``anomaly_rules:``."""

    interval: Duration | None = Field(
        None, description="how often the expression is scored (default: evaluation_interval)"
    )


def _interval(entry: AnomalyRuleEntry, default: float) -> float:
    return float(entry.interval) if entry.interval is not None else default


def group_name(interval: float) -> str:
    return f"anomaly:{format_duration(interval)}"


def alert_rule(entry: AnomalyRuleConfig) -> RuleConfig:
    return RuleConfig.model_validate(
        {
            "alert": entry.name,
            "expr": f'{SCORE_METRIC}{{anomaly_rule="{_escape(entry.name)}"}} '
            f">= {entry.threshold!r}",
            "for": float(entry.for_),
            "keep_firing_for": float(entry.keep_firing_for),
            "labels": dict(entry.labels),
            "annotations": {**DEFAULT_ANNOTATIONS, **entry.annotations},
        }
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def anomaly_rule_groups(
    entries: Sequence[AnomalyRuleEntry], default_interval: float
) -> list[LoadedGroup]:
    """One rule group per distinct interval, each rule's alert in config order."""
    from watchkeeper.rules.loader import LoadedGroup

    by_interval: dict[float, list[RuleConfig]] = {}
    for entry in entries:
        by_interval.setdefault(_interval(entry, default_interval), []).append(alert_rule(entry))
    return [
        LoadedGroup(
            SOURCE_NAME,
            RuleGroupConfig(name=group_name(interval), interval=Duration(interval), rules=rules),
        )
        for interval, rules in by_interval.items()
    ]


Problems = list[tuple[tuple[str | int, ...], str]]


def semantic_problems(entries: Sequence[AnomalyRuleEntry]) -> Problems:
    """Names are unique; expressions parse; label and annotation templates translate."""
    problems: Problems = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            problems.append(
                (("anomaly_rules", i, "name"), f"duplicate anomaly rule name {entry.name!r}")
            )
        seen.add(entry.name)
        try:
            parse(entry.expr)
        except (QueryError, ValueError) as exc:
            problems.append((("anomaly_rules", i, "expr"), f"invalid PromQL: {exc}"))
        renderer = TemplateRenderer()
        for section in ("labels", "annotations"):
            for key, template in getattr(entry, section).items():
                try:
                    renderer.check(template)
                except TemplateTranslationError as exc:
                    problems.append((("anomaly_rules", i, section, key), f"template: {exc}"))
    return problems


class AnomalyStateStore:
    """Evaluator states, one row per rule."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, rule: str) -> dict[str, Any] | None:
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(anomaly_state.c.state).where(anomaly_state.c.rule == rule)
            ).first()
        if row is None:
            return None
        loaded = json.loads(row.state)
        return loaded if isinstance(loaded, dict) else None

    def save(self, rule: str, state: dict[str, Any], now: float) -> None:
        text = json.dumps(state, separators=(",", ":"))
        with self._db.begin() as conn:
            conn.execute(anomaly_state.delete().where(anomaly_state.c.rule == rule))
            conn.execute(anomaly_state.insert().values(rule=rule, state=text, updated_at=now))

    def prune(self, keep: set[str]) -> None:
        with self._db.begin() as conn:
            conn.execute(anomaly_state.delete().where(anomaly_state.c.rule.not_in(keep)))


@dataclass(slots=True)
class _Rule:
    entry: AnomalyRuleEntry
    interval: float
    evaluator: AnomalyEvaluator
    last_point: float | None = None
    scored: set[Labels] = field(default_factory=set)  # series written at the last point
    last_error: str = ""
    last_evaluation: float | None = None
    last_saved: float | None = None
    dirty: bool = False

    def status(self) -> dict[str, Any]:
        return {
            "name": self.entry.name,
            "expr": self.entry.expr,
            "detector": self.entry.detector,
            "threshold": self.entry.threshold,
            "interval": format_duration(self.interval),
            "series": len(self.evaluator.series()),
            "last_point": rfc3339(self.last_point) if self.last_point else None,
            "last_evaluation": rfc3339(self.last_evaluation) if self.last_evaluation else None,
            "health": "err" if self.last_error else "ok",
            "last_error": self.last_error,
        }


def _settings(entry: AnomalyRuleEntry) -> tuple[Any, ...]:
    return (entry.expr, json.dumps(entry.detector_settings(), sort_keys=True))


class AnomalyRunner:
    """Scores anomaly rules for the rule manager (``before_evaluation`` hook)."""

    def __init__(
        self,
        *,
        query: QueryFunc,
        store: SeriesStore,
        clock: Clock,
        state: AnomalyStateStore | None = None,
        max_catchup: int = 60,
        save_every: float = 300.0,
        forget_after: float = 86400.0,
    ) -> None:
        self._query = query
        self._store = store
        self._clock = clock
        self._state = state
        self.max_catchup = max_catchup
        self.save_every = save_every
        self.forget_after = forget_after
        self._rules: dict[str, _Rule] = {}
        self._lock = threading.Lock()

    def load(self, entries: Sequence[AnomalyRuleEntry], default_interval: float) -> None:
        """(Re)load the rules. A rule whose expression and detector settings are unchanged
        keeps its evaluator; a new one restores its saved state, if any."""
        with self._lock:
            old = self._rules
            rules: dict[str, _Rule] = {}
            for entry in entries:
                interval = _interval(entry, default_interval)
                previous = old.get(entry.name)
                if previous is not None and _settings(previous.entry) == _settings(entry):
                    previous.entry, previous.interval = entry, interval
                    rules[entry.name] = previous
                    continue
                rules[entry.name] = self._new_rule(entry, interval)
            self._rules = rules
        if self._state is not None:
            self._state.prune(set(rules))

    def _new_rule(self, entry: AnomalyRuleEntry, interval: float) -> _Rule:
        rule = _Rule(entry=entry, interval=interval, evaluator=AnomalyEvaluator(entry))
        saved = self._state.load(entry.name) if self._state is not None else None
        if saved is None:
            return rule
        try:
            result = rule.evaluator.restore(saved)
        except DetectorStateError as exc:
            log.warning("anomaly rule %s: saved state not restored: %s", entry.name, exc)
            return rule
        for reason in result.reasons:
            log.warning("anomaly rule %s: %s", entry.name, reason)
        stamps = [
            float(s["last_timestamp"])
            for s in saved.get("series", [])
            if isinstance(s, dict) and isinstance(s.get("last_timestamp"), int | float)
        ]
        if result.restored and stamps:
            rule.last_point = max(stamps)
        return rule

    def rules(self) -> list[dict[str, Any]]:
        return [r.status() for r in self._rules.values()]

    async def before_evaluation(self, group: RuleGroup, ts: float) -> None:
        """The rule manager's hook: score this group's anomaly rules up to ``ts``."""
        if group.file != SOURCE_NAME:
            return
        names = [r.name for r in group.rules]
        await asyncio.to_thread(self.evaluate, names, ts)

    def evaluate(self, names: Sequence[str], ts: float) -> int:
        """Score the named rules at every grid point up to ``ts``; returns how many
        scores were written."""
        written = 0
        with self._lock:
            for name in names:
                rule = self._rules.get(name)
                if rule is not None:
                    written += self._evaluate_rule(rule, ts)
        return written

    def _points(self, rule: _Rule, ts: float) -> list[float]:
        step = rule.interval
        latest = math.floor(ts / step) * step
        if rule.last_point is None:
            return [latest]
        first = rule.last_point + step
        count = round((latest - first) / step) + 1
        if count <= 0:
            return []
        count = min(count, self.max_catchup)
        return [latest - step * i for i in range(count - 1, -1, -1)]

    def _evaluate_rule(self, rule: _Rule, ts: float) -> int:
        samples: list[tuple[Labels, int, float]] = []
        for point in self._points(rule, ts):
            try:
                results = self._query(rule.entry.expr, point)
                scores = rule.evaluator.observe_many(
                    (labels, point, value) for labels, value in results
                )
            except (QueryError, LimitExceededError) as exc:
                rule.last_error = str(exc)
                log.warning("anomaly rule %s failed: %s", rule.entry.name, exc)
                break
            rule.last_error = ""
            ms = int(point * 1000)
            current = {s.labels for s in scores}
            samples.extend((s.labels, ms, s.score) for s in scores)
            samples.extend((labels, ms, STALE_NAN) for labels in rule.scored - current)
            rule.scored = current
            rule.last_point = point
            rule.dirty = True
        rule.last_evaluation = ts
        if samples:
            self._store.append(samples, source=f"anomaly/{rule.entry.name}")
        if rule.last_point is not None:
            rule.evaluator.drop_stale(before=rule.last_point - self.forget_after)
        now = self._clock.now()
        if rule.dirty and (rule.last_saved is None or now - rule.last_saved >= self.save_every):
            self._save(rule, now)
        return len(samples)

    def _save(self, rule: _Rule, now: float) -> None:
        if self._state is None:
            return
        self._state.save(rule.entry.name, rule.evaluator.state(), now)
        rule.last_saved = now
        rule.dirty = False

    def save(self) -> None:
        """Save every rule's learnt state now (at shutdown)."""
        now = self._clock.now()
        with self._lock:
            for rule in self._rules.values():
                if rule.dirty:
                    self._save(rule, now)
