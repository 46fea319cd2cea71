"""The test-script language and the runner, on small scripts written here."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from watchkeeper.cli.main import _register, cli
from watchkeeper.core.labels import Labels
from watchkeeper.promql.promqltest import Status, almost_equal, run_file
from watchkeeper.promql.testscript import (
    Clear,
    Eval,
    Load,
    ScriptError,
    expand_values,
    parse_script,
)
from watchkeeper.tsdb.base import is_stale_nan

SCRIPT = """\
load 5m
  http_requests{job="api", instance="0"} 0+10x10
  http_requests{job="api", instance="1"} 0+20x10

# A passing eval.
eval instant at 50m sum by (job) (http_requests)
  {job="api"} 300

# A failing eval: the value is wrong.
eval instant at 50m sum(http_requests)
  {} 301

eval_fail instant at 0m -{__name__=~"http_requests|http_requests"} + on() group_left http_requests

clear

eval instant at 0m vector(1)
  {} 1

eval instant at 0m 1 + 1
  2
"""


def test_values_notation_expands_like_prometheus() -> None:
    assert expand_values("1 _ 3", 1) == [1.0, None, 3.0]
    assert expand_values("_x3 7", 1) == [None, None, None, 7.0]
    assert expand_values("5x2", 1) == [5.0, 5.0, 5.0]
    assert expand_values("1+2x3 -1-1x1", 1) == [1.0, 3.0, 5.0, 7.0, -1.0, -2.0]
    assert expand_values("0x10", 1) == [0.0] * 11  # never hexadecimal
    values = expand_values("Inf -Inf NaN stale", 1)
    assert values[:2] == [math.inf, -math.inf]
    assert values[2] is not None
    assert math.isnan(values[2])
    assert values[3] is not None
    assert is_stale_nan(values[3])


def test_bad_value_is_a_script_error_with_line() -> None:
    with pytest.raises(ScriptError, match="line 7"):
        expand_values("1 two", 7)


def test_script_commands_and_expectations() -> None:
    commands = parse_script(SCRIPT)
    assert [type(c) for c in commands] == [Load, Eval, Eval, Eval, Clear, Eval, Eval]
    load = commands[0]
    assert isinstance(load, Load)
    assert load.step_ms == 300_000
    assert load.series[0].labels == Labels(
        {"__name__": "http_requests", "job": "api", "instance": "0"}
    )
    first = commands[1]
    assert isinstance(first, Eval)
    assert first.at_ms == 3_000_000
    assert first.expected[0].labels == Labels.of(job="api")
    scalar = commands[-1]
    assert isinstance(scalar, Eval)
    assert scalar.scalar == 2.0


def test_unknown_command_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match="unknown command 'bogus'"):
        parse_script("bogus 1\n")


def test_runner_reports_each_eval(tmp_path: Path) -> None:
    path = tmp_path / "small.test"
    path.write_text(SCRIPT)
    report = run_file(path)
    statuses = [o.status for o in report.outcomes]
    assert statuses == [Status.PASSED, Status.FAILED, Status.PASSED, Status.PASSED, Status.PASSED]
    assert "expected 301.0" in report.failures()[0].reason
    assert report.summary_line() == "small.test: 4 passed, 1 failed, 0 skipped"


def test_native_histogram_files_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "native.test"
    path.write_text("load 1m\n  h {{schema:0 sum:1 count:1}}x2\n\neval instant at 1m h\n  {} 1\n")
    report = run_file(path)
    assert [o.status for o in report.outcomes] == [Status.SKIPPED]


def test_almost_equal_uses_prometheus_tolerance() -> None:
    assert almost_equal(1.0, 1.0 + 1e-9)
    assert not almost_equal(1.0, 1.001)
    assert almost_equal(math.nan, math.nan)
    assert not almost_equal(0.0, 1e-300)


def test_cli_prints_a_line_per_file_and_totals(tmp_path: Path) -> None:
    (tmp_path / "a.test").write_text(SCRIPT)
    (tmp_path / "b.test").write_text("load 1m\n  x 1\n\neval instant at 0m x\n  x 1\n")
    _register()
    result = CliRunner().invoke(cli, ["promql-test", str(tmp_path)])
    lines = result.output.strip().splitlines()
    assert lines == [
        "a.test: 4 passed, 1 failed, 0 skipped",
        "b.test: 1 passed, 0 failed, 0 skipped",
        "5 passed, 1 failed, 0 skipped",
    ]
    assert result.exit_code == 1


def test_cli_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(cli, ["promql-test", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output
