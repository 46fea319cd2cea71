"""The default rule packs: listed in the table, well-formed, annotated, and passing their
promtool unit tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from conftest import require
from watchkeeper.rulepacks import RULE_PACKS, rule_pack, rule_pack_tests

PACKS = sorted(RULE_PACKS)


def test_table_lists_every_shipped_rule_file() -> None:
    folder = next(iter(RULE_PACKS.values())).parent
    assert {p.name for p in folder.glob("*.yml")} == {p.name for p in RULE_PACKS.values()}
    with pytest.raises(KeyError, match="unknown rule pack 'nope'; known: http, scrape"):
        rule_pack("nope")


@pytest.mark.parametrize("name", PACKS)
def test_every_alert_has_severity_and_runbook_annotations(name: str) -> None:
    doc = yaml.safe_load(rule_pack(name).read_text(encoding="utf-8"))
    rules = [r for group in doc["groups"] for r in group["rules"]]
    assert rules
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, rule["alert"]
        assert rule["annotations"]["runbook"].strip(), rule["alert"]


@pytest.mark.parametrize("name", PACKS)
def test_every_alert_has_a_unit_test(name: str) -> None:
    doc = yaml.safe_load(rule_pack(name).read_text(encoding="utf-8"))
    alerts = {r["alert"] for group in doc["groups"] for r in group["rules"]}
    tests = yaml.safe_load(rule_pack_tests(name).read_text(encoding="utf-8"))
    tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
    assert alerts == tested


def _promtool() -> str:
    path = shutil.which("promtool")
    require(path is not None, "promtool", "install the Debian package prometheus")
    return str(path)


@pytest.mark.parametrize("name", PACKS)
def test_promtool_checks_the_pack(name: str) -> None:
    done = subprocess.run(
        [_promtool(), "check", "rules", str(rule_pack(name))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", PACKS)
def test_promtool_unit_tests_of_the_pack_pass(name: str) -> None:
    tests = rule_pack_tests(name)
    done = subprocess.run(
        [_promtool(), "test", "rules", tests.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tests.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
