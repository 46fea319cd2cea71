"""``watchkeeper test rules``: the promtool test file format on Watchkeeper's own engine,
with the same verdicts as ``promtool test rules`` on every shipped rule pack test and on
deliberately broken copies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require
from watchkeeper.cli.main import _register, cli
from watchkeeper.readiness.ruletests import run_test_file
from watchkeeper.readiness.ruletests.runner import Verdict
from watchkeeper.rulepacks import RULE_PACKS, rule_pack, rule_pack_tests

RECORDING_RULES = """
groups:
  - name: rates
    rules:
      - record: job:req:rate1m
        expr: sum by (job) (rate(req_total[2m]))
      - alert: HighRate
        expr: job:req:rate1m > 1.5
        for: 2m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }} at {{ $value }}"}
"""

RECORDING_TESTS = """
rule_files: [rates.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'req_total{job="a"}'
        values: '0+60x10'
      - series: 'req_total{job="b"}'
        values: '0+120x10'
    promql_expr_test:
      - expr: job:req:rate1m
        eval_time: 5m
        exp_samples:
          - labels: 'job:req:rate1m{job="a"}'
            value: 1
          - labels: 'job:req:rate1m{job="b"}'
            value: %(b)s
    alert_rule_test:
      - eval_time: 3m
        alertname: HighRate
        exp_alerts: []
      - eval_time: 6m
        alertname: HighRate
        exp_alerts:
          - exp_labels: {job: b, severity: page}
            exp_annotations: {summary: "b at 2"}
"""


def promtool(test_file: Path) -> int:
    path = shutil.which("promtool")
    require(path is not None, "promtool", "install the Debian package prometheus")
    done = subprocess.run(
        [str(path), "test", "rules", test_file.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=test_file.parent,
    )
    return done.returncode


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """The pack's rules and tests side by side in tmp_path, with ``old`` replaced by
    ``new`` in the test file."""
    shutil.copy(rule_pack(name), tmp_path / rule_pack(name).name)
    text = rule_pack_tests(name).read_text(encoding="utf-8")
    text = text.replace(f"../{rule_pack(name).name}", rule_pack(name).name)
    assert old in text
    out = tmp_path / f"broken-{name}.test.yml"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


@pytest.mark.parametrize("name", sorted(RULE_PACKS))
async def test_rule_pack_tests_pass_on_watchkeeper_as_on_promtool(name: str) -> None:
    tests = rule_pack_tests(name)
    ours = await run_test_file(tests)
    assert ours.verdict is Verdict.SUCCESS, ours.failures or ours.error
    assert ours.groups >= 1
    assert promtool(tests) == 0


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("http", "has failed for 2 minutes", "has failed for 3 minutes"),
        ("http", "eval_time: 7m", "eval_time: 2m"),
        ("render", "severity: critical", "severity: warning"),
        ("github", "exp_alerts: []", "exp_alerts: [{exp_labels: {severity: critical}}]"),
    ],
)
async def test_a_broken_expectation_fails_on_both(
    tmp_path: Path, name: str, old: str, new: str
) -> None:
    broken = broken_copy(tmp_path, name, old, new)
    ours = await run_test_file(broken)
    assert ours.verdict is Verdict.FAILED
    assert promtool(broken) == 1


@pytest.mark.parametrize(
    ("b", "verdict", "code"), [("2", Verdict.SUCCESS, 0), ("3", Verdict.FAILED, 1)]
)
async def test_recording_rules_and_promql_expr_tests_agree_with_promtool(
    tmp_path: Path, b: str, verdict: Verdict, code: int
) -> None:
    (tmp_path / "rates.yml").write_text(RECORDING_RULES, encoding="utf-8")
    tests = tmp_path / "rates.test.yml"
    tests.write_text(RECORDING_TESTS % {"b": b}, encoding="utf-8")
    ours = await run_test_file(tests)
    assert ours.verdict is verdict, ours.failures
    assert promtool(tests) == code
    if verdict is Verdict.FAILED:
        assert "expr: 'job:req:rate1m', time: 5m" in ours.failures[0]


def test_the_command_prints_each_file_and_exits_by_the_worst_verdict(tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    good = rule_pack_tests("heartbeat")
    ok = runner.invoke(cli, ["test", "rules", str(good)])
    assert ok.exit_code == 0, ok.output
    assert f"Unit Testing:  {good}\n  SUCCESS" in ok.output
    broken = broken_copy(tmp_path, "http", "has failed for 2 minutes", "has failed for 9 minutes")
    bad = runner.invoke(cli, ["test", "rules", str(good), str(broken)])
    assert bad.exit_code == 1
    assert "FAILED:" in bad.output
    assert "alertname: ProbeFailing, time: 7m" in bad.output
    assert "has failed for 9 minutes" in bad.output


def test_an_unreadable_test_file_exits_2_with_its_line(tmp_path: Path) -> None:
    _register()
    wrong = tmp_path / "wrong.test.yml"
    wrong.write_text("rule_files: []\ntests:\n  - intervall: 1m\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["test", "rules", str(wrong)])
    assert result.exit_code == 2
    assert f"{wrong}:3: tests[0].intervall: unknown field" in result.output
    missing = CliRunner().invoke(cli, ["test", "rules", str(tmp_path / "none.yml")])
    assert missing.exit_code == 2
    assert "file not found" in missing.output


async def test_a_rule_that_fails_to_evaluate_is_reported_with_its_time(tmp_path: Path) -> None:
    (tmp_path / "dup.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Dup\n"
        "        expr: label_replace(x, 'a', '', 'a', '.*')\n",
        encoding="utf-8",
    )
    tests = tmp_path / "dup.test.yml"
    tests.write_text(
        "rule_files: [dup.yml]\ntests:\n  - input_series:\n"
        "      - {series: 'x{a=\"1\"}', values: '1 1'}\n"
        "      - {series: 'x{a=\"2\"}', values: '1 1'}\n"
        "    alert_rule_test:\n      - {eval_time: 1m, alertname: Dup, exp_alerts: []}\n",
        encoding="utf-8",
    )
    ours = await run_test_file(tests)
    assert ours.verdict is Verdict.FAILED
    assert ours.failures[0].startswith("test group 1: rule: Dup, time: 0s, err:")
    assert promtool(tests) == 1
