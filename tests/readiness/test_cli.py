"""``watchkeeper validate``: exit codes 0/1/2, every format on stdout or in a file, the
report stored in the state database."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from watchkeeper.cli.main import _register, cli
from watchkeeper.readiness.store import ReadinessStore, Trigger
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.testing.server import FakeServer

from .apps import AppState, service_app
from .support import write_config


@pytest.fixture
def app() -> Iterator[FakeServer]:
    with FakeServer(service_app(AppState())) as server:
        yield server


def config(tmp_path: Path, app: FakeServer, *, failing: bool = False) -> Path:
    words = "[Welcome]" if failing else "[Insurance]"
    write_config(
        tmp_path,
        "services: []\n",
        readiness=f"  custom: [{{name: home, http: {{url: '{app.url}/', contains: {words}}}}}]\n",
    )
    return tmp_path / "watchkeeper.yaml"


def validate(*args: str) -> Result:
    _register()
    return CliRunner().invoke(cli, ["validate", *args])


def test_nothing_failing_exits_0_and_prints_the_table(tmp_path: Path, app: FakeServer) -> None:
    result = validate("--config", str(config(tmp_path, app)), "--only", "custom")
    assert result.exit_code == 0, result.output
    assert "PASS: 1 checks: 1 passed" in result.output
    assert "custom.home" in result.output


def test_a_failing_check_exits_1(tmp_path: Path, app: FakeServer) -> None:
    result = validate("--config", str(config(tmp_path, app, failing=True)), "--only", "custom")
    assert result.exit_code == 1
    assert "FAIL: 1 checks: 0 passed, 0 warned, 1 failed" in result.output


def test_a_bad_config_exits_2_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text("readiness:\n  concurrency: 8\n  chek_timeout: 5s\n", encoding="utf-8")
    result = validate("--config", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: readiness.chek_timeout: unknown field" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_category_is_a_usage_error(tmp_path: Path, app: FakeServer) -> None:
    result = validate("--config", str(config(tmp_path, app)), "--only", "custom,bakups")
    assert result.exit_code == 2
    assert "unknown category bakups; use monitoring, alerting, backups" in result.output


def test_json_goes_to_stdout_and_the_run_is_stored(tmp_path: Path, app: FakeServer) -> None:
    result = validate(
        "--config", str(config(tmp_path, app, failing=True)), "--only", "custom", "--format", "json"
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["schema"] == "watchkeeper.readiness/v1"
    assert report["results"][0]["id"] == "custom.home"
    db = Database(sqlite_url(tmp_path / "data" / "state.sqlite"))
    try:
        summary, stored = ReadinessStore(db).latest() or (None, None)
    finally:
        db.dispose()
    assert summary is not None
    assert summary.trigger is Trigger.CLI
    assert stored is not None
    assert stored.results[0].id == "custom.home"


@pytest.mark.parametrize("fmt", ["junit", "markdown", "html", "table"])
def test_every_format_is_written_to_the_output_file(
    tmp_path: Path, app: FakeServer, fmt: str
) -> None:
    out = tmp_path / f"report.{fmt}"
    result = validate(
        "--config",
        str(config(tmp_path, app)),
        "--only",
        "custom",
        "--format",
        fmt,
        "--output",
        str(out),
        "--no-store",
    )
    assert result.exit_code == 0, result.output
    assert f"{fmt} report written to {out}" in result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "junit":
        root = ET.fromstring(text)  # noqa: S314 - the report the command just wrote
        assert root.get("tests") == "1"
    elif fmt == "markdown":
        assert text.startswith("# Production readiness")
    elif fmt == "html":
        assert text.startswith("<!doctype html>")
    else:
        assert "PASS: 1 checks: 1 passed" in text
    assert not (tmp_path / "data" / "state.sqlite").exists()


def test_fail_on_warn_turns_a_warning_into_exit_1(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("groups: []\n", encoding="utf-8")
    skip = "[alerting.rules_cover_services, alerting.routes_reach_receivers, alerting.escalation]"
    write_config(tmp_path, "services: []\nrule_files: [rules.yml]\n", readiness=f"  skip: {skip}\n")
    path = tmp_path / "watchkeeper.yaml"
    args = ["--config", str(path), "--only", "alerting", "--no-store", "--format", "json"]
    relaxed = validate(*args)
    statuses = {r["id"]: r["status"] for r in json.loads(relaxed.stdout)["results"]}
    assert statuses["alerting.rule_tests"] == "warn"
    assert set(statuses.values()) == {"warn", "skip"}
    assert relaxed.exit_code == 0
    strict = validate(*args, "--fail-on", "warn")
    assert strict.exit_code == 1
