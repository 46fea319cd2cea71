"""The rule manager: evaluates every group on its interval and as soon as samples arrive
for a metric one of its rules reads, writes recording-rule results and ``ALERTS`` series
back to the store, persists alert state, and sends firing/resolved alerts to the sink.

Evaluation of one group is sequential (a rule may read what an earlier rule recorded);
the PromQL work runs in a worker thread, state changes happen on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from prometheus_client import CollectorRegistry, Counter, Histogram

from watchkeeper.alerting.model import AlertInput, AlertSink, fingerprint
from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import AlertState
from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.core.tasks import set_event
from watchkeeper.rules.alerting_rule import (
    ActiveAlert,
    AlertingRule,
    RuleEvaluationError,
    Transition,
)
from watchkeeper.rules.group import INTERNAL_SERIES, RuleGroup, RuleHealth
from watchkeeper.rules.loader import LoadedGroup
from watchkeeper.rules.persist import RuleStateStore
from watchkeeper.rules.recording_rule import RecordingRule
from watchkeeper.rules.template import QueryResultSample, TemplateRenderer
from watchkeeper.tsdb.base import STALE_NAN, SeriesStore

log = logging.getLogger(__name__)

QueryFunc = Callable[[str, float], Sequence[tuple[Labels, float]]]
"""Instant query: expression and time in seconds -> (labels, value) pairs (a scalar result
comes back as one sample with empty labels)."""
MetricsOf = Callable[[str], set[str] | None]
TransitionListener = Callable[[RuleGroup, Transition], None]
GroupHook = Callable[[RuleGroup, float], Awaitable[None]]
"""Runs at the start of each evaluation of a group, with the query time, before its rules
(e.g. the anomaly rules write the scores their alerting rules then read)."""


@dataclass(frozen=True, slots=True)
class RuleManagerOptions:
    default_interval: float = 15.0
    resend_delay: float = 60.0
    event_driven: bool = True
    min_event_spacing: float = 0.05
    external_labels: Mapping[str, str] | None = None
    external_url: str = ""


class RuleManager:
    def __init__(
        self,
        *,
        query: QueryFunc,
        metrics_of: MetricsOf,
        store: SeriesStore,
        sink: AlertSink,
        clock: Clock,
        options: RuleManagerOptions | None = None,
        persistence: RuleStateStore | None = None,
        on_transition: TransitionListener | None = None,
        registry: CollectorRegistry | None = None,
        before_evaluation: Sequence[GroupHook] = (),
    ) -> None:
        self._query = query
        self._hooks = tuple(before_evaluation)
        self._metrics_of = metrics_of
        self._store = store
        self._sink = sink
        self._clock = clock
        self.options = options or RuleManagerOptions()
        self._persistence = persistence
        self._on_transition = on_transition
        self._renderer = TemplateRenderer(query=self._template_query)
        self._groups: list[RuleGroup] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._restored: dict[tuple[str, str], list[ActiveAlert]] | None = None
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._m_evals = Counter(
            "watchkeeper_rule_group_evaluations",
            "Rule group evaluations",
            ["trigger"],
            registry=reg,
        )
        self._m_failures = Counter(
            "watchkeeper_rule_evaluation_failures", "Rule evaluations that failed", registry=reg
        )
        self._m_duration = Histogram(
            "watchkeeper_rule_group_duration_seconds",
            "Time to evaluate a rule group",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
            registry=reg,
        )
        store.subscribe(self.notify_samples)

    # --- configuration ------------------------------------------------------------------

    @property
    def groups(self) -> list[RuleGroup]:
        return list(self._groups)

    def load(self, loaded: Sequence[LoadedGroup]) -> None:
        """(Re)load groups. Rules whose identity is unchanged keep their alert state."""
        if self._restored is None:
            self._restored = self._persistence.load() if self._persistence else {}
        old = {(g.key, r.name, r.identity()): r for g in self._groups for r in g.rules}
        groups: list[RuleGroup] = []
        for lg in loaded:
            cfg = lg.config
            rules: list[AlertingRule | RecordingRule] = []
            for rc in cfg.rules:
                if rc.is_alert:
                    rule: AlertingRule | RecordingRule = AlertingRule(rc, dict(cfg.labels))
                else:
                    rule = RecordingRule(rc, dict(cfg.labels))
                previous = old.get((lg.key, rule.name, rule.identity()))
                if isinstance(rule, AlertingRule):
                    if isinstance(previous, AlertingRule):
                        rule.active, rule.streaks = previous.active, previous.streaks
                        rule.hold_until = previous.hold_until
                    else:
                        for alert in self._restored.pop((lg.key, rule.name), []):
                            rule.active[alert.fingerprint] = alert
                rules.append(rule)
            group = RuleGroup(
                loaded=lg,
                interval=float(cfg.interval or self.options.default_interval),
                rules=rules,
            )
            group.triggers = self._triggers(group)
            groups.append(group)
        self._groups = groups
        if self._persistence is not None:
            self._persistence.prune(
                {(g.key, r.name) for g in groups for r in g.rules if isinstance(r, AlertingRule)}
            )
        if self._loop is not None:
            self._restart_tasks()

    def _triggers(self, group: RuleGroup) -> frozenset[str] | None:
        names: set[str] = set()
        for rule in group.rules:
            try:
                metrics = self._metrics_of(rule.config.expr)
            except QueryError:
                continue  # it cannot run; its evaluation reports the error

            if metrics is None:
                return None
            names |= metrics
        return frozenset(names - group.recorded_names() - INTERNAL_SERIES)

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._restart_tasks()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None

    def _restart_tasks(self) -> None:
        keys = {g.key for g in self._groups}
        for key in list(self._tasks):
            if key not in keys:
                self._tasks.pop(key).cancel()
        for group in self._groups:
            task = self._tasks.get(group.key)
            if task is not None:
                task.cancel()
            self._events[group.key] = asyncio.Event()
            self._locks.setdefault(group.key, asyncio.Lock())
            self._tasks[group.key] = asyncio.create_task(
                self._run_group(group), name=f"rules:{group.key}"
            )

    def notify_samples(self, names: frozenset[str]) -> None:
        """Store listener: wake every group that reads one of ``names``."""
        if not self.options.event_driven or self._loop is None:
            return
        for group in self._groups:
            if group.triggers is None or not group.triggers.isdisjoint(names):
                event = self._events.get(group.key)
                if event is not None:
                    set_event(event, self._loop)

    async def _run_group(self, group: RuleGroup) -> None:
        clock = self._clock
        now = clock.now()
        interval = group.interval
        next_tick = now - (now % interval) + group.offset()
        if next_tick < now:
            next_tick += interval
        event = self._events[group.key]
        last_event_eval = 0.0
        while True:
            wait_for = max(0.0, next_tick - clock.now())
            triggered = await self._wait(event, wait_for)
            now = clock.now()
            if triggered:
                event.clear()
                gap = now - last_event_eval
                if gap < self.options.min_event_spacing:
                    await clock.sleep(self.options.min_event_spacing - gap)
                    event.clear()
                    now = clock.now()
                last_event_eval = now
                await self.evaluate_group(group, now, trigger="samples")
                continue
            await self.evaluate_group(group, next_tick, trigger="interval")
            next_tick += interval
            if next_tick <= clock.now():  # we fell behind: skip missed ticks
                missed = int((clock.now() - next_tick) // interval) + 1
                next_tick += missed * interval

    async def _wait(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waiter = asyncio.ensure_future(event.wait())
        try:
            done, _ = await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, waiter):
                if not fut.done():
                    fut.cancel()
        return waiter in done and event.is_set()

    # --- evaluation ---------------------------------------------------------------------

    async def evaluate_group(self, group: RuleGroup, ts: float, *, trigger: str = "manual") -> None:
        """Evaluate every rule of ``group`` at ``ts`` (seconds), in order."""
        lock = self._locks.setdefault(group.key, asyncio.Lock())
        async with lock:
            started = time.perf_counter()
            query_ts = ts - float(group.loaded.config.query_offset)
            to_send: list[AlertInput] = []
            for hook in self._hooks:
                try:
                    await hook(group, query_ts)
                except Exception:  # a failing hook must not keep the group's rules from running
                    self._m_failures.inc()
                    log.exception("before-evaluation hook of group %s failed", group.name)
            rules = group.rules
            start = 0
            while start < len(rules):
                # One trip to the worker thread for the queries up to the next recording
                # rule, whose result is written before later rules (that may read it) run.
                end = start
                while end < len(rules) - 1 and not isinstance(rules[end], RecordingRule):
                    end += 1
                batch = list(range(start, end + 1))
                answers = await asyncio.to_thread(
                    self._query_many, [rules[i].config.expr for i in batch], query_ts
                )
                for index, (results, seconds) in zip(batch, answers, strict=True):
                    to_send.extend(self._apply_rule(group, index, results, seconds, ts))
                start = end + 1
            group.last_evaluation = ts
            group.evaluation_seconds = time.perf_counter() - started
            self._m_evals.labels(trigger).inc()
            self._m_duration.observe(group.evaluation_seconds)
            if to_send:
                await self._sink.put(to_send)

    def _query_many(
        self, exprs: list[str], at: float
    ) -> list[tuple[Sequence[tuple[Labels, float]] | QueryError, float]]:
        """Each expression's result (or its error) and how long it took; in a worker
        thread."""
        out: list[tuple[Sequence[tuple[Labels, float]] | QueryError, float]] = []
        for expr in exprs:
            started = time.perf_counter()
            try:
                result: Sequence[tuple[Labels, float]] | QueryError = self._query(expr, at)
            except QueryError as exc:
                result = exc
            out.append((result, time.perf_counter() - started))
        return out

    def _apply_rule(
        self,
        group: RuleGroup,
        index: int,
        results: Sequence[tuple[Labels, float]] | QueryError,
        query_seconds: float,
        ts: float,
    ) -> list[AlertInput]:
        rule = group.rules[index]
        status = group.rule_status(index)
        started = time.perf_counter()
        to_send: list[AlertInput] = []
        try:
            if isinstance(results, QueryError):
                raise results
            if isinstance(rule, RecordingRule):
                self._write_recording(rule, group, index, results, ts)
            else:
                to_send = self._apply_alerting(rule, group, index, results, ts)
            status.health = RuleHealth.OK
            status.last_error = ""
        except (QueryError, RuleEvaluationError) as exc:
            status.health = RuleHealth.ERROR
            status.last_error = str(exc)
            self._m_failures.inc()
            log.warning("rule %s in group %s failed: %s", rule.name, group.name, exc)
        status.last_evaluation = ts
        status.evaluation_seconds = query_seconds + time.perf_counter() - started
        return to_send

    def _write_recording(
        self,
        rule: RecordingRule,
        group: RuleGroup,
        index: int,
        results: Sequence[tuple[Labels, float]],
        ts: float,
    ) -> None:
        samples = rule.evaluate(results, limit=group.loaded.config.limit)
        self._write_series(group, index, samples, ts)

    def _write_series(
        self, group: RuleGroup, index: int, samples: list[tuple[Labels, float]], ts: float
    ) -> None:
        status = group.rule_status(index)
        ts_ms = int(ts * 1000)
        current = {labels for labels, _ in samples}
        out = [(labels, ts_ms, value) for labels, value in samples]
        out.extend((labels, ts_ms, STALE_NAN) for labels in status.series - current)
        status.series = current
        if out:
            self._store.append(out, source=f"rules/{group.name}")

    def _apply_alerting(
        self,
        rule: AlertingRule,
        group: RuleGroup,
        index: int,
        results: Sequence[tuple[Labels, float]],
        ts: float,
    ) -> list[AlertInput]:
        opts = self.options
        external = dict(opts.external_labels or {})
        transitions = rule.evaluate(
            results,
            ts,
            self._renderer,
            external_labels=external,
            external_url=opts.external_url,
            limit=group.loaded.config.limit,
        )
        series: list[tuple[Labels, float]] = []
        for alert in rule.alerts():
            if alert.state in (AlertState.PENDING, AlertState.FIRING):
                base = alert.labels.with_(alertstate=alert.state.value)
                series.append((base.with_(**{METRIC_NAME: "ALERTS"}), 1.0))
                series.append(
                    (alert.labels.with_(**{METRIC_NAME: "ALERTS_FOR_STATE"}), alert.active_at)
                )
        self._write_series(group, index, series, ts)
        if transitions:
            self._persist(group, rule, transitions, ts)
            if self._on_transition is not None:
                for t in transitions:
                    self._on_transition(group, t)
        return self._due_alerts(rule, group, ts)

    def _persist(
        self, group: RuleGroup, rule: AlertingRule, transitions: list[Transition], ts: float
    ) -> None:
        if self._persistence is None:
            return
        upserts: list[ActiveAlert] = []
        deletes: list[str] = []
        for t in transitions:
            fp = fingerprint(t.labels)
            alert = rule.active.get(fp)
            if alert is None:
                deletes.append(fp)
            else:
                upserts.append(alert)
        self._persistence.save(group.key, rule.name, upserts, deletes, ts)

    def _due_alerts(self, rule: AlertingRule, group: RuleGroup, ts: float) -> list[AlertInput]:
        opts = self.options
        valid_for = 4 * max(group.interval, opts.resend_delay)
        out: list[AlertInput] = []
        external = dict(opts.external_labels or {})
        for alert in rule.alerts():
            if alert.state is AlertState.PENDING:
                continue
            resolved_since_sent = alert.resolved_at is not None and (
                alert.last_sent_at is None or alert.resolved_at > alert.last_sent_at
            )
            due = alert.last_sent_at is None or alert.last_sent_at + opts.resend_delay < ts
            if alert.state is AlertState.INACTIVE and not resolved_since_sent:
                continue
            if not (resolved_since_sent or due):
                continue
            alert.last_sent_at = ts
            alert.valid_until = ts + valid_for
            starts_at = alert.fired_at if alert.fired_at is not None else alert.active_at
            labels = Labels({**external, **alert.labels.to_dict()})
            out.append(
                AlertInput(
                    labels=labels,
                    annotations=dict(alert.annotations),
                    starts_at=starts_at,
                    ends_at=alert.resolved_at
                    if alert.resolved_at is not None
                    else alert.valid_until,
                    generator_url=self._generator_url(rule),
                    source="rule",
                    value=alert.value,
                )
            )
        return out

    def _generator_url(self, rule: AlertingRule) -> str:
        base = self.options.external_url.rstrip("/")
        return f"{base}/explore?expr={quote(rule.config.expr)}"

    def _template_query(self, expr: str) -> list[QueryResultSample]:
        now = self._clock.now()
        return [
            QueryResultSample(labels.to_dict(), value) for labels, value in self._query(expr, now)
        ]

    # --- views -----------------------------------------------------------------------------

    def active_alerts(self) -> list[tuple[RuleGroup, AlertingRule, ActiveAlert]]:
        return [
            (group, rule, alert)
            for group in self._groups
            for rule in group.rules
            if isinstance(rule, AlertingRule)
            for alert in rule.alerts()
            if alert.state in (AlertState.PENDING, AlertState.FIRING)
        ]
