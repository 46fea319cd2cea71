"""The slos: section (exact error messages), the generated rules (golden shapes), and
``watchkeeper slo rules`` printing what the runtime loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from watchkeeper.cli.main import _register, cli
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.errors import ConfigError
from watchkeeper.rules.slo import slo_rule_groups, slo_rules_yaml
from watchkeeper.runtime.rules import load_rules
from watchkeeper.slo.config import SLOConfig
from watchkeeper.slo.rules import BURN_WINDOWS, sli_queries

BASE = """services:
  - name: api
slos:
  - name: api-availability
    service: api
    objective: 99.9
    sli:
      events:
        bad: http_requests_total{service="api", code=~"5.."}
        total: http_requests_total{service="api"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text)
    return info.value.problems


def test_an_slo_loads_with_its_defaults() -> None:
    (slo,) = load_config_text(BASE).config.slos
    assert slo.error_budget == pytest.approx(0.001)
    assert slo.window_days == 30
    assert slo.alerting.min_events == 30
    assert slo.alerting.error_floor == 5
    assert slo.alerting.page.name == "ErrorBudgetBurnFast"
    assert slo.alerting.ticket.labels == {"severity": "warning"}


def test_an_slo_of_an_unknown_service_is_reported_with_its_line() -> None:
    text = BASE.replace("    service: api\n", "    service: checkout\n")
    assert problems(text) == [
        "watchkeeper.yaml:5: slos[0].service: unknown service 'checkout'; known services: api"
    ]


def test_objective_window_and_sli_mistakes_say_how_to_fix_them() -> None:
    text = BASE.replace("objective: 99.9", "objective: 100").replace(
        "    sli:", "    window: 1d\n    sli:"
    )
    found = problems(text)
    assert any("slos[0].objective" in p and "less than 100" in p for p in found)
    assert any("between 7d and 90d" in p for p in found)
    two = BASE.replace("        bad:", "        good: x_total\n        bad:")
    assert any("give exactly one of good or bad" in p for p in problems(two))
    none = BASE.replace("      events:", "      latency_x:")
    assert problems(none)


def test_an_event_query_must_be_a_selector_or_count_the_window() -> None:
    text = BASE.replace(
        'bad: http_requests_total{service="api", code=~"5.."}',
        'bad: sum(rate(http_requests_total{code="500"}[5m]))',
    )
    (problem,) = problems(text)
    assert "slos[0].sli.events.bad" in problem
    assert "$window" in problem


def test_duplicate_slo_names_are_refused() -> None:
    extra = BASE.split("slos:\n", 1)[1]
    assert any("duplicate SLO name" in p for p in problems(BASE + extra))


def slo(sli: dict[str, object]) -> SLOConfig:
    return SLOConfig.model_validate({"name": "s", "service": "api", "objective": 99, "sli": sli})


def test_sli_queries_for_each_kind() -> None:
    total, bad = sli_queries(slo({"events": {"good": 'x_total{ok="1"}', "total": "x_total"}}), "1h")
    assert total == "sum(increase(x_total[1h]))"
    good = 'sum(increase(x_total{ok="1"}[1h]))'
    assert bad == f"clamp_min(sum(increase(x_total[1h])) - ({good} or vector(0)), 0)"
    total, bad = sli_queries(slo({"availability": {}}), "5m")
    assert total == 'sum(count_over_time(probe_success{service="api"}[5m]))'
    assert "sum_over_time(probe_success" in bad
    total, bad = sli_queries(
        slo({"latency": {"metric": "http_request_duration_seconds", "le": 0.5}}), "30m"
    )
    assert total == 'sum(increase(http_request_duration_seconds_count{service="api"}[30m]))'
    assert 'http_request_duration_seconds_bucket{service="api", le="0.5"}[30m]' in bad
    custom = slo({"events": {"bad": "sum(increase(e_total[$window]))", "total": "t_total"}})
    assert sli_queries(custom, "6h")[1] == "(sum(sum(increase(e_total[6h]))) or vector(0))"


def test_burn_factors_are_the_workbooks_for_30_days_and_scale_for_28() -> None:
    assert [bw.factor(30 * 86400) for bw in BURN_WINDOWS] == [14.4, 6.0, 3.0, 1.0]
    assert [bw.factor(28 * 86400) for bw in BURN_WINDOWS] == [13.44, 5.6, 2.8, 0.9333]


def test_generated_rules_load_as_one_group_per_slo() -> None:
    cfg = load_config_text(BASE).config
    (group,) = slo_rule_groups(cfg)
    assert group.config.name == "slo:api-availability"
    assert group.file == "slos"
    rules = group.config.rules
    records = [r.record for r in rules if r.record]
    assert records[:2] == ["slo:sli_total:increase5m", "slo:sli_errors:increase5m"]
    assert "slo:sli_error:ratio_rate30d" in records
    assert "slo:period_error_budget_remaining:ratio" in records
    alerts = [r for r in rules if r.alert]
    assert [a.alert for a in alerts] == ["ErrorBudgetBurnFast", "ErrorBudgetBurnSlow"]
    page = alerts[0]
    assert 'slo:sli_error:ratio_rate1h{slo="api-availability"} / 0.001 > 14.4' in page.expr
    assert 'slo:sli_total:increase1h{slo="api-availability"} >= 30' in page.expr
    assert 'slo:sli_errors:increase6h{slo="api-availability"} >= 5' in page.expr
    assert page.labels == {
        "slo": "api-availability",
        "service": "api",
        "slo_alert": "page",
        "severity": "critical",
    }
    # every record of a window precedes the records that read it
    order = {name: i for i, name in enumerate(records)}
    assert order["slo:sli_total:increase5m"] < order["slo:sli_total:increase30d"]
    assert order["slo:sli_error:ratio_rate30d"] < order["slo:period_burn_rate:ratio"]


def test_a_guard_of_zero_drops_its_term_and_a_disabled_alert_is_not_generated() -> None:
    text = BASE + "    alerting:\n      min_events: 0\n      ticket: {enabled: false}\n"
    (group,) = slo_rule_groups(load_config_text(text).config)
    alerts = [r for r in group.config.rules if r.alert]
    assert [a.alert for a in alerts] == ["ErrorBudgetBurnFast"]
    assert "slo:sli_total:increase" not in alerts[0].expr
    assert "slo:sli_errors:increase1h" in alerts[0].expr


def test_the_runtime_loads_slo_groups_beside_rule_files(tmp_path: Path) -> None:
    cfg = load_config_text(BASE).config
    assert [g.key for g in load_rules(cfg, tmp_path)] == ["slos;slo:api-availability"]


def test_slo_rules_command_prints_the_rule_file(tmp_path: Path) -> None:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(BASE, encoding="utf-8")
    _register()
    result = CliRunner().invoke(cli, ["slo", "rules", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == slo_rules_yaml(load_config_text(BASE).config)
    doc = yaml.safe_load(result.output)
    assert doc["groups"][0]["name"] == "slo:api-availability"
    listed = CliRunner().invoke(cli, ["slo", "list", "--config", str(path)])
    assert listed.exit_code == 0, listed.output
    assert "api-availability" in listed.output
    assert "objective=99.9 %" in listed.output


def test_slo_rules_command_reports_config_errors_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(BASE.replace("objective: 99.9", "objective: high"), encoding="utf-8")
    _register()
    result = CliRunner().invoke(cli, ["slo", "rules", "--config", str(path)])
    assert result.exit_code == 2
    assert "slos[0].objective" in result.output
    assert "Traceback" not in result.output
