"""Run ``promtool test rules`` files on Watchkeeper's engine and rule manager.

For each test group, as promtool does: the input series are loaded into an empty
in-memory store (sample *i* at *i* × ``interval`` from time 0, parsed with the PromQL
test scripts' series notation), the rule files are loaded with the real rule loader,
and every group is evaluated by the real :class:`~watchkeeper.rules.manager.RuleManager`
at each ``evaluation_interval`` from 0 to the last ``eval_time``. An alert test at
``eval_time`` t compares the *firing* alerts of the evaluation at the last tick ``<= t``
(labels with ``alertname``, and annotations; order does not matter). PromQL tests query
the store (input series, recorded series and ``ALERTS``) after the last tick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from watchkeeper.alerting.model import AlertInput
from watchkeeper.config.loader import format_validation_errors
from watchkeeper.config.yamlsource import load_yaml_file
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.durations import format_duration
from watchkeeper.core.enums import AlertState
from watchkeeper.core.errors import ConfigError, QueryError, WatchkeeperError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, referenced_metrics
from watchkeeper.promql.testscript import ScriptError, expand_values, parse_labels
from watchkeeper.readiness.ruletests.model import RuleTestFile, RuleTestGroup
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import RuleHealth
from watchkeeper.rules.loader import LoadedGroup, load_rule_file, resolve_rule_files
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.tsdb.base import Sample
from watchkeeper.tsdb.embedded import EmbeddedStore


class Verdict(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    ERROR = "ERROR"  # the file could not be read or run


@dataclass(slots=True)
class FileResult:
    path: Path
    groups: int = 0
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.error is not None:
            return Verdict.ERROR
        return Verdict.FAILED if self.failures else Verdict.SUCCESS

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.SUCCESS


class _NoSink:
    async def put(self, alerts: Sequence[AlertInput]) -> None:
        return None


async def run_test_files(paths: Iterable[Path]) -> list[FileResult]:
    return [await run_test_file(p) for p in paths]


async def run_test_file(path: Path) -> FileResult:
    """Run every test group of one file; a file that cannot be read is an ``ERROR``."""
    result = FileResult(path)
    try:
        spec = _load(path)
        groups = _rule_groups(spec, path.parent)
    except ConfigError as exc:
        result.error = "\n".join(exc.problems)
        return result
    for index, group in enumerate(spec.tests):
        result.groups += 1
        name = group.name or f"test group {index + 1}"
        try:
            failures = await _run_group(spec, group, groups)
        except (ScriptError, WatchkeeperError) as exc:
            failures = [f"{exc}"]
        result.failures.extend(f"{name}: {f}" for f in failures)
    return result


def _load(path: Path) -> RuleTestFile:
    data, smap = load_yaml_file(path, env={})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a rule test file is a mapping with rule_files and tests")
    try:
        return RuleTestFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(exc, data, smap)) from None


def _rule_groups(spec: RuleTestFile, base: Path) -> list[LoadedGroup]:
    files, problems = resolve_rule_files(spec.rule_files, base)
    groups: list[LoadedGroup] = []
    for f in files:
        try:
            groups.extend(load_rule_file(f, display_name=str(f)))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    if spec.group_eval_order:
        by_name = {g.config.name: g for g in groups}
        missing = [n for n in spec.group_eval_order if n not in by_name]
        if missing:
            raise ConfigError(
                f"group_eval_order names groups that are not loaded: {', '.join(missing)}"
            )
        if len(spec.group_eval_order) != len(groups):
            raise ConfigError("group_eval_order must list every rule group of the rule files")
        groups = [by_name[n] for n in spec.group_eval_order]
    return groups


def _samples(group: RuleTestGroup, step_ms: int) -> list[Sample]:
    samples: list[Sample] = []
    for n, item in enumerate(group.input_series, start=1):
        labels, end = parse_labels(item.series.strip(), n)
        if item.series.strip()[end:].strip():
            raise ScriptError(n, f"unexpected text after the series {item.series!r}")
        for i, value in enumerate(expand_values(item.values, n)):
            if value is not None:
                samples.append((labels, i * step_ms, value))
    return samples


async def _run_group(
    spec: RuleTestFile, group: RuleTestGroup, loaded: list[LoadedGroup]
) -> list[str]:
    eval_interval = float(spec.evaluation_interval)
    interval = float(group.interval) if group.interval is not None else eval_interval
    if eval_interval <= 0 or interval <= 0:
        raise ConfigError("evaluation_interval and interval must be above 0")
    clock = FakeClock(0.0)
    store = EmbeddedStore.memory(clock=clock)
    try:
        appended = store.append(_samples(group, round(interval * 1000)))
        if appended.errors:
            raise ConfigError("input_series: " + "; ".join(appended.errors))
        engine = Engine(store, clock=clock)
        manager = RuleManager(
            query=engine.samples,
            metrics_of=referenced_metrics,
            store=store,
            sink=_NoSink(),
            clock=clock,
            options=RuleManagerOptions(
                default_interval=eval_interval,
                event_driven=False,
                external_labels=dict(group.external_labels),
                external_url=group.external_url,
            ),
        )
        manager.load(loaded)
        return await _evaluate(manager, engine, clock, group, eval_interval)
    finally:
        store.close()


async def _evaluate(
    manager: RuleManager,
    engine: Engine,
    clock: FakeClock,
    group: RuleTestGroup,
    step: float,
) -> list[str]:
    failures: list[str] = []
    alert_times = sorted({float(t.eval_time) for t in group.alert_rule_test})
    last = max(
        [*alert_times, *(float(t.eval_time) for t in group.promql_expr_test), 0.0],
    )
    pending = list(alert_times)
    ticks = math.floor(last / step + 1e-9) + 1
    for n in range(ticks):
        ts = n * step
        clock.set(max(clock.now(), ts))
        for rule_group in manager.groups:
            await manager.evaluate_group(rule_group, ts)
            for index, rule in enumerate(rule_group.rules):
                status = rule_group.rule_status(index)
                if status.health is RuleHealth.ERROR:
                    return [
                        f"rule: {rule.name}, time: {format_duration(ts)}, err: {status.last_error}"
                    ]
        while pending and ts <= pending[0] < ts + step:
            at = pending.pop(0)
            failures.extend(_check_alerts(manager, group, at))
    failures.extend(_check_exprs(engine, group))
    return failures


def _firing(manager: RuleManager, alertname: str) -> list[tuple[Labels, Labels]]:
    out: list[tuple[Labels, Labels]] = []
    for rule_group in manager.groups:
        for rule in rule_group.rules:
            if isinstance(rule, AlertingRule) and rule.name == alertname:
                out.extend(
                    (a.labels, Labels(a.annotations))
                    for a in rule.alerts()
                    if a.state is AlertState.FIRING
                )
    return sorted(out)


def _check_alerts(manager: RuleManager, group: RuleTestGroup, at: float) -> list[str]:
    failures: list[str] = []
    for case in group.alert_rule_test:
        if float(case.eval_time) != at:
            continue
        got = _firing(manager, case.alertname)
        expected = sorted(
            (
                Labels({**a.exp_labels, "alertname": case.alertname}),
                Labels(a.exp_annotations),
            )
            for a in case.exp_alerts
        )
        if got != expected:
            failures.append(
                f"alertname: {case.alertname}, time: {format_duration(at)},\n"
                f"        exp:{_alerts_text(expected)},\n"
                f"        got:{_alerts_text(got)}"
            )
    return failures


def _alerts_text(alerts: list[tuple[Labels, Labels]]) -> str:
    if not alerts:
        return "[]"
    parts = [
        f"\n            {i}:\n              Labels:{lab}\n              Annotations:{ann}"
        for i, (lab, ann) in enumerate(alerts)
    ]
    return "[" + "".join(parts) + "\n        ]"


def _check_exprs(engine: Engine, group: RuleTestGroup) -> list[str]:
    failures: list[str] = []
    for case in group.promql_expr_test:
        at = float(case.eval_time)
        where = f"expr: {case.expr!r}, time: {format_duration(at)}"
        try:
            got = sorted(engine.samples(case.expr, at))
        except QueryError as exc:
            failures.append(f"{where}, err: {exc}")
            continue
        try:
            expected = sorted(
                (parse_labels(s.labels.strip(), 0)[0] if s.labels.strip() else Labels(), s.value)
                for s in case.exp_samples
            )
        except ScriptError as exc:
            failures.append(f"{where}, err: exp_samples: {exc}")
            continue
        if not _same(got, expected):
            failures.append(
                f"{where},\n        exp: {_samples_text(expected)}\n"
                f"        got: {_samples_text(got)}"
            )
    return failures


def _same(a: list[tuple[Labels, float]], b: list[tuple[Labels, float]]) -> bool:
    if len(a) != len(b):
        return False
    return all(la == lb and (va == vb) for (la, va), (lb, vb) in zip(a, b, strict=True))


def _samples_text(samples: list[tuple[Labels, float]]) -> str:
    return "[" + ", ".join(f"{labels} {value:g}" for labels, value in samples) + "]"
