"""The generated SLO rules are Prometheus rules: ``promtool check rules`` accepts them, and
one ``promtool test rules`` file (the night with 2 failures of 3 requests does not page; a
busy outage pages) passes on Prometheus' engine and on Watchkeeper's alike. With the
low-traffic guard off, the night test fails on both."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require
from watchkeeper.cli.main import _register, cli
from watchkeeper.config.loader import load_config_text
from watchkeeper.rules.slo import slo_rules_yaml

CONFIG = """services: [{name: api}]
slos:
  - name: api-availability
    service: api
    objective: 99.9
    interval: 1m
    sli:
      events:
        bad: http_requests_total{service="api", code=~"5.."}
        total: http_requests_total{service="api"}
"""

TESTS = """rule_files: [slo.yml]
evaluation_interval: 1m
tests:
  - name: two failures of three requests at night
    interval: 1m
    input_series:
      - series: 'http_requests_total{service="api", code="200"}'
        values: '0x50 1x15'
      - series: 'http_requests_total{service="api", code="500"}'
        values: '0x53 1x2 2x10'
    promql_expr_test:
      - expr: 'slo:sli_error:ratio_rate1h{slo="api-availability"} / 0.001 > 14.4'
        eval_time: 58m
        exp_samples:
          - labels: '{slo="api-availability", service="api"}'
            value: 666.6666666666666
      - expr: 'ALERTS{alertname="ErrorBudgetBurnFast"}'
        eval_time: 58m
        exp_samples: []
  - name: an outage on a busy service
    interval: 1m
    input_series:
      - series: 'http_requests_total{service="api", code="200"}'
        values: '0+1000x90'
      - series: 'http_requests_total{service="api", code="500"}'
        values: '0x59 0+100x30'
    promql_expr_test:
      - expr: 'ALERTS{alertname="ErrorBudgetBurnFast", alertstate="firing"}'
        eval_time: 59m
        exp_samples: []
      - expr: 'ALERTS{alertname="ErrorBudgetBurnFast", alertstate="firing"}'
        eval_time: 75m
        exp_samples:
          - labels: 'ALERTS{alertname="ErrorBudgetBurnFast", alertstate="firing",
              slo="api-availability", service="api", slo_alert="page", severity="critical"}'
            value: 1
"""


def write(tmp_path: Path, config: str) -> Path:
    (tmp_path / "slo.yml").write_text(slo_rules_yaml(load_config_text(config).config))
    tests = tmp_path / "slo_test.yml"
    tests.write_text(TESTS, encoding="utf-8")
    return tests


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    require(path is not None, "promtool", "install the Debian package prometheus")
    return subprocess.run(
        [str(path), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def ours(tests: Path) -> int:
    _register()
    return CliRunner().invoke(cli, ["test", "rules", str(tests)]).exit_code


def test_promtool_accepts_the_generated_rule_file(tmp_path: Path) -> None:
    write(tmp_path, CONFIG)
    done = promtool("check", "rules", "slo.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 32 rules found" in done.stdout


@pytest.mark.slow
def test_prometheus_and_watchkeeper_agree_on_the_low_traffic_guard(tmp_path: Path) -> None:
    tests = write(tmp_path, CONFIG)
    done = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ours(tests) == 0


@pytest.mark.slow
def test_without_the_guard_both_engines_page_at_night(tmp_path: Path) -> None:
    unguarded = CONFIG + "    alerting: {min_events: 0, error_floor: 0}\n"
    tests = write(tmp_path, unguarded)
    done = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "ErrorBudgetBurnFast" in done.stdout + done.stderr
    assert ours(tests) != 0
