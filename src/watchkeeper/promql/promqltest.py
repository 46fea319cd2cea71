"""Run Prometheus' PromQL test files against the Watchkeeper engine.

Every ``eval`` is one outcome: passed, failed (with the reason) or skipped (files that use
native histograms). Unlike Prometheus' own runner, a failure does not stop the file: each
eval is reported. Like it, every passing instant eval is run again as a range query from
``t-1m`` to ``t+1m`` and its middle step compared with the same expectations.

    report = run_file(Path("functions.test"))
    print(report.summary_line())

``store_factory`` builds the empty store each file (and each ``clear``) starts from; the
default is the embedded store in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import QueryError, WatchkeeperError
from watchkeeper.core.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.testscript import (
    Clear,
    Eval,
    Load,
    ScriptError,
    parse_script,
)
from watchkeeper.promql.values import Matrix, Result, Scalar, Vector
from watchkeeper.tsdb.base import Sample, SeriesStore

StoreFactory = Callable[[], SeriesStore]
_EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308
_MAX_FLOAT = 1.7976931348623157e308
NATIVE_HISTOGRAMS = "native histograms are not supported"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    line: int
    expr: str
    status: Status
    reason: str = ""


@dataclass(slots=True)
class FileReport:
    path: Path
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def passed(self) -> int:
        return self.count(Status.PASSED)

    @property
    def failed(self) -> int:
        return self.count(Status.FAILED) + (1 if self.error else 0)

    @property
    def skipped(self) -> int:
        return self.count(Status.SKIPPED)

    def summary_line(self) -> str:
        return (
            f"{self.path.name}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        )

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]


def almost_equal(a: float, b: float, epsilon: float = _EPSILON) -> bool:
    """Prometheus' test tolerance (util/almost)."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < epsilon * _MIN_NORMAL
    return diff / min(abs_sum, _MAX_FLOAT) < epsilon


def memory_store() -> SeriesStore:
    from watchkeeper.tsdb.embedded import EmbeddedStore

    return EmbeddedStore.memory(clock=FakeClock(0.0))


def find_test_files(paths: Iterable[Path]) -> list[Path]:
    """``*.test`` files among ``paths`` (folders are searched, sorted by name)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.glob("*.test")))
        else:
            out.append(p)
    return out


class _Runner:
    def __init__(self, store_factory: StoreFactory, check_range_mode: bool) -> None:
        self.store_factory = store_factory
        self.check_range_mode = check_range_mode
        self.store = store_factory()
        self.engine = self._engine()

    def _engine(self) -> Engine:
        return Engine(
            self.store,
            clock=FakeClock(0.0),
            lookback_s=300,
            timeout_s=100,
            default_subquery_step_s=60,
            experimental_functions=True,
        )

    def clear(self) -> None:
        self.store.close()
        self.store = self.store_factory()
        self.engine = self._engine()

    def load(self, cmd: Load) -> None:
        merged: dict[Labels, list[float | None]] = {}
        for desc in cmd.series:
            merged[desc.labels] = desc.values
        samples: list[Sample] = []
        for labels, values in merged.items():
            for i, v in enumerate(values):
                if v is not None:
                    samples.append((labels, i * cmd.step_ms, v))
        result = self.store.append(samples)
        if result.errors:
            raise ScriptError(cmd.line, "; ".join(result.errors))

    def run_eval(self, cmd: Eval) -> Outcome:
        if cmd.histogram:
            return Outcome(cmd.line, cmd.expr, Status.SKIPPED, NATIVE_HISTOGRAMS)
        try:
            reason = self._eval(cmd)
        except WatchkeeperError as exc:
            reason = f"unexpected error: {exc}"
        status = Status.PASSED if reason is None else Status.FAILED
        return Outcome(cmd.line, cmd.expr, status, reason or "")

    def _eval(self, cmd: Eval) -> str | None:
        if not cmd.instant:
            return self._eval_range(cmd)
        try:
            result = self.engine.instant_ms(cmd.expr, cmd.at_ms)
        except QueryError as exc:
            return None if cmd.fail else f"error: {exc}"
        if cmd.fail:
            return "expected an error, the query succeeded"
        problem = compare_instant(cmd, result)
        if problem is not None or cmd.ordered or not self.check_range_mode:
            return problem
        try:
            matrix = self.engine.range_ms(cmd.expr, cmd.at_ms - 60_000, cmd.at_ms + 60_000, 60_000)
        except QueryError as exc:
            return f"range mode: error: {exc}"
        middle = _middle(matrix, cmd.at_ms)
        if isinstance(result, Scalar):
            middle_result: Result = Scalar(middle[0].value if middle else math.nan, cmd.at_ms)
        else:
            middle_result = middle
        problem = compare_instant(cmd, middle_result)
        return None if problem is None else f"range mode: {problem}"

    def _eval_range(self, cmd: Eval) -> str | None:
        try:
            matrix = self.engine.range_ms(cmd.expr, cmd.start_ms, cmd.end_ms, cmd.step_ms)
        except QueryError as exc:
            return None if cmd.fail else f"error: {exc}"
        if cmd.fail:
            return "expected an error, the query succeeded"
        return compare_range(cmd, matrix)


def _middle(matrix: Matrix, at_ms: int) -> Vector:
    from watchkeeper.promql.values import Sample as VSample

    out = []
    for s in matrix:
        hit = np.flatnonzero(s.timestamps == at_ms)
        if hit.shape[0]:
            out.append(VSample(s.labels, float(s.values[hit[0]]), at_ms))
    return Vector(tuple(out), at_ms)


def compare_instant(cmd: Eval, result: Result) -> str | None:
    if isinstance(result, Scalar):
        if cmd.scalar is None or cmd.expected:
            return f"expected a vector, got scalar {result.value}"
        if not almost_equal(cmd.scalar, result.value):
            return f"expected scalar {cmd.scalar} but got {result.value}"
        return None
    if isinstance(result, Matrix):
        return "received range result on instant evaluation"
    if not isinstance(result, Vector):
        return f"unexpected {result.result_type} result"
    if cmd.scalar is not None:
        return f"expected scalar {cmd.scalar}, got a vector of {len(result)} samples"
    expected = {}
    for pos, desc in enumerate(cmd.expected):
        expected[desc.labels] = (pos, desc.values[0])
    seen: set[Labels] = set()
    for pos, sample in enumerate(result):
        if sample.labels not in expected:
            return f"unexpected metric {sample.labels} in result"
        exp_pos, exp_value = expected[sample.labels]
        if cmd.ordered and exp_pos != pos:
            return f"expected {sample.labels} at position {exp_pos + 1} but was at {pos + 1}"
        if exp_value is None or not almost_equal(exp_value, sample.value):
            return f"expected {exp_value} for {sample.labels} but got {sample.value}"
        seen.add(sample.labels)
    for labels, (_, value) in expected.items():
        if labels not in seen:
            return f"expected metric {labels} with {value} not found"
    return None


def compare_range(cmd: Eval, matrix: Matrix) -> str | None:
    expected = {desc.labels: desc.values for desc in cmd.expected}
    keys = [s.labels.items_tuple for s in matrix]
    if keys != sorted(keys):
        return "matrix result is not sorted by labels"
    for series in matrix:
        if series.labels not in expected:
            return f"unexpected metric {series.labels} in result"
        want = [
            (cmd.start_ms + i * cmd.step_ms, v)
            for i, v in enumerate(expected[series.labels])
            if v is not None
        ]
        got = series.points()
        if len(want) != len(got):
            return f"expected {len(want)} points for {series.labels}, got {len(got)}"
        for (wt, wv), (gt, gv) in zip(want, got, strict=True):
            if wt != gt or not almost_equal(wv, gv):
                return f"expected {wv}@{wt} for {series.labels} but got {gv}@{gt}"
    found = {s.labels for s in matrix}
    for labels in expected:
        if labels not in found:
            return f"expected metric {labels} not found"
    return None


def run_file(
    path: Path,
    *,
    store_factory: StoreFactory | None = None,
    check_range_mode: bool = True,
) -> FileReport:
    report = FileReport(path)
    try:
        commands = parse_script(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ScriptError) as exc:
        report.error = f"cannot read {path.name}: {exc}"
        return report
    native = any(
        (isinstance(c, Load) and any(s.histogram for s in c.series))
        or (isinstance(c, Eval) and c.histogram)
        for c in commands
    )
    if native:
        report.outcomes = [
            Outcome(c.line, c.expr, Status.SKIPPED, NATIVE_HISTOGRAMS)
            for c in commands
            if isinstance(c, Eval)
        ]
        return report
    runner = _Runner(store_factory or memory_store, check_range_mode)
    try:
        for cmd in commands:
            if isinstance(cmd, Clear):
                runner.clear()
            elif isinstance(cmd, Load):
                runner.load(cmd)
            else:
                report.outcomes.append(runner.run_eval(cmd))
    except ScriptError as exc:
        report.error = f"{path.name}: {exc}"
    finally:
        runner.store.close()
    return report


def run_paths(
    paths: Sequence[Path],
    *,
    store_factory: StoreFactory | None = None,
    check_range_mode: bool = True,
) -> list[FileReport]:
    return [
        run_file(p, store_factory=store_factory, check_range_mode=check_range_mode)
        for p in find_test_files(paths)
    ]


def totals(reports: Iterable[FileReport]) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for r in reports:
        passed += r.passed
        failed += r.failed
        skipped += r.skipped
    return passed, failed, skipped
