"""Config errors name the file, line and field and say how to fix it; every error at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from watchkeeper.cli.main import _register, cli
from watchkeeper.config.base import REDACTED, Secret
from watchkeeper.config.loader import load_config, load_config_text
from watchkeeper.core.errors import ConfigError


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config_text(text, env=env or {})
    return err.value.problems


def test_broken_yaml_names_the_line_and_how_to_fix_it() -> None:
    assert problems("services:\n  - name: a\n    checks: [\n") == [
        "watchkeeper.yaml:4: invalid YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node); check indentation, colons and quoting around this line"
    ]


def test_unknown_and_missing_fields_are_reported_together_with_their_lines() -> None:
    text = """services:
  - name: api
    checks:
      - type: http
        ulr: http://x/
      - type: scrape
        url: http://x/metrics
        sample_limt: 10
"""
    assert problems(text) == [
        "watchkeeper.yaml:4: services[0].checks[0].url: required field is missing; add it",
        "watchkeeper.yaml:5: services[0].checks[0].ulr: unknown field; remove it or check its "
        "spelling and indentation",
        "watchkeeper.yaml:8: services[0].checks[1].sample_limt: unknown field; remove it or check "
        "its spelling and indentation",
    ]


def test_an_undefined_receiver_is_reported_at_its_route() -> None:
    text = """alerting:
  route:
    receiver: default
    routes:
      - matchers: ['severity="critical"']
        receiver: oncall
  receivers:
    - name: default
"""
    (msg,) = problems(text)
    assert msg.startswith(
        "watchkeeper.yaml:6: alerting.route.routes[0].receiver: route references undefined "
        "receiver 'oncall'"
    )


def test_an_unknown_check_type_lists_the_known_ones() -> None:
    (msg,) = problems("services:\n  - name: a\n    checks:\n      - type: htp\n")
    assert msg.startswith(
        "watchkeeper.yaml:4: services[0].checks[0]: unknown type 'htp'; use one of"
    )
    assert "'http'" in msg


def test_a_missing_environment_variable_is_a_problem_at_its_line() -> None:
    text = (
        "alerting:\n  receivers:\n    - name: default\n      webhook_configs:\n"
        "        - url: ${HOOK}\n"
    )
    assert problems(text) == [
        "watchkeeper.yaml:5: alerting.receivers[0].webhook_configs[0].url: environment variable "
        "HOOK is not set; export it, or write ${HOOK:-default} to give a default"
    ]


def test_environment_variables_and_defaults_expand() -> None:
    text = "server:\n  listen: ${HOST:-127.0.0.1}:${PORT}\n"
    cfg = load_config_text(text, env={"PORT": "9099"}).config
    assert cfg.server.listen == "127.0.0.1:9099"


def test_duplicate_keys_are_refused() -> None:
    assert problems("server:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n") == [
        "watchkeeper.yaml:3: server: duplicate key 'listen'; each key may appear once in a mapping"
    ]


def test_a_secret_can_come_from_a_file_and_is_redacted_when_dumped(tmp_path: Path) -> None:
    (tmp_path / "hook.url").write_text("https://hooks.example/T0/secret-token\n")
    config = tmp_path / "watchkeeper.yaml"
    config.write_text(
        "alerting:\n  receivers:\n    - name: default\n      webhook_configs:\n"
        "        - url_file: hook.url\n"
    )
    cfg = load_config(config, env={}).config
    url = cfg.alerting.receivers[0].webhook_configs[0].url
    assert isinstance(url, Secret)
    assert url.reveal() == "https://hooks.example/T0/secret-token"
    dumped = json.dumps(cfg.model_dump(mode="json"))
    assert "secret-token" not in dumped
    assert REDACTED in dumped
    assert "secret-token" not in repr(cfg)


def test_an_unreadable_secret_file_says_which_file(tmp_path: Path) -> None:
    config = tmp_path / "watchkeeper.yaml"
    config.write_text(
        "alerting:\n  receivers:\n    - name: default\n      webhook_configs:\n"
        "        - url_file: missing.url\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(config, env={})
    (msg,) = err.value.problems
    assert msg.startswith(
        f"{config}:5: alerting.receivers[0].webhook_configs[0]: url_file: cannot read"
    )
    assert "missing.url" in msg


def test_an_alertmanager_file_can_be_included(tmp_path: Path) -> None:
    (tmp_path / "alertmanager.yml").write_text(
        "global:\n  resolve_timeout: 5m\nroute:\n  receiver: team\n  group_by: ['...']\n"
        "receivers:\n  - name: team\n"
    )
    config = tmp_path / "watchkeeper.yaml"
    config.write_text("alerting:\n  config_file: alertmanager.yml\n")
    cfg = load_config(config, env={}).config
    assert cfg.alerting.route.receiver == "team"
    assert [r.name for r in cfg.alerting.receivers] == ["team"]


def test_cli_check_config_exits_2_listing_every_error_without_a_traceback(tmp_path: Path) -> None:
    _register()
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  listen: nowhere\nservices:\n  - name: Bad Name\n")
    result = CliRunner().invoke(cli, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{bad}:2: server.listen: expected host:port" in result.output
    assert f"{bad}:4: services[0].name: service name 'Bad Name' must be lower-case" in result.output


def test_cli_check_config_on_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(cli, ["check-config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found; check the path" in result.output


def test_init_writes_a_starter_config_that_validates(tmp_path: Path) -> None:
    _register()
    path = tmp_path / "watchkeeper.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 0
    result = runner.invoke(cli, ["check-config", str(path)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 1  # never overwrites


def test_config_schema_is_json_schema_with_every_section() -> None:
    _register()
    result = CliRunner().invoke(cli, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    for section in ("server", "storage", "services", "alerting", "rule_files", "security"):
        assert section in schema["properties"]
    assert "global" in schema["properties"]


def test_version_prints_the_version() -> None:
    _register()
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("watchkeeper ")


def test_a_receiver_that_cannot_be_built_is_reported_at_its_channel() -> None:
    text = """alerting:
  route: {receiver: r}
  receivers:
    - name: r
      email_configs:
        - to: oncall@example.org
"""
    assert problems(text) == [
        "watchkeeper.yaml:6: alerting.receivers[0].email_configs[0].smarthost: set the SMTP "
        "server as host:port, here or as smtp_smarthost in alerting.global"
    ]


def test_alertmanager_global_smtp_settings_fill_the_receivers() -> None:
    text = """alerting:
  global: {smtp_smarthost: 'smtp.example.org:587', smtp_from: 'watchkeeper@example.org'}
  route: {receiver: r}
  receivers:
    - name: r
      email_configs:
        - to: oncall@example.org
"""
    cfg = load_config_text(text, env={}).config
    assert cfg.alerting.route.receiver == "r"
