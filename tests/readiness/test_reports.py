"""Reports in every format: versioned JSON that round-trips, JUnit XML parsed back,
Markdown, the terminal table, a self-contained HTML page; and the exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from watchkeeper.readiness.model import FailOn, Report, Status
from watchkeeper.readiness.report import ReportFormat, render
from watchkeeper.readiness.report.jsonfmt import from_json, to_json

from .sample import T0, sample_report


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - the report this test just rendered


def test_the_exit_code_is_1_on_a_failure_or_error_and_on_a_warning_when_asked() -> None:
    report = sample_report()
    assert report.exit_code() == 1
    only_warn = Report(T0, T0 + 1, tuple(r for r in report.results if r.status is Status.WARN))
    assert only_warn.exit_code() == 0
    assert only_warn.exit_code(FailOn.WARN) == 1
    clean = Report(
        T0, T0 + 1, tuple(r for r in report.results if r.status in (Status.PASS, Status.SKIP))
    )
    assert clean.exit_code(FailOn.WARN) == 0
    assert report.status is Status.FAIL
    assert Report(T0, T0, ()).status is Status.SKIP


def test_json_is_versioned_and_round_trips() -> None:
    report = sample_report()
    text = to_json(report)
    raw = json.loads(text)
    assert raw["schema"] == "watchkeeper.readiness/v1"
    assert raw["version"] == 1
    assert raw["status"] == "fail"
    assert raw["summary"] == {"total": 6, "pass": 2, "warn": 1, "fail": 1, "skip": 1, "error": 1}
    assert raw["started_at"] == "2027-01-15T08:00:00.000Z"
    assert raw["duration_seconds"] == 35.5
    again = from_json(text)
    assert again.results == report.results
    assert again.started_at == report.started_at
    assert again.config == "watchkeeper.yaml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "something/v1"}, "not a Watchkeeper readiness report"),
        ({"version": 99}, "newer than this Watchkeeper reads"),
    ],
)
def test_json_of_another_schema_or_a_newer_version_is_refused(
    change: dict[str, object], message: str
) -> None:
    raw = {**json.loads(to_json(sample_report())), **change}
    with pytest.raises(ValueError, match=message):
        from_json(json.dumps(raw))


def test_junit_xml_parses_back_with_one_suite_per_category() -> None:
    root = parse(render(sample_report(), ReportFormat.JUNIT))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "1",
        "1",
        "1",
    )
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "monitoring",
        "alerting",
        "backups",
        "deploy",
        "performance",
        "security",
    ]
    alerting = suites["alerting"].find("testcase")
    assert alerting is not None
    assert alerting.get("classname") == "readiness.alerting"
    assert alerting.get("name") == (
        "alerting.test_notifications: Each receiver delivers a test notification"
    )
    assert alerting.get("time") == "2.500"
    failure = alerting.find("failure")
    assert failure is not None
    assert "403" in (failure.get("message") or "")
    assert "How to fix: fix the failing channel's URL" in (failure.text or "")
    assert "rejected: 403 <forbidden>" in (failure.text or "")
    assert suites["deploy"].find("testcase/skipped") is not None
    assert suites["security"].find("testcase/error") is not None
    backups = suites["backups"].find("testcase")
    assert backups is not None
    assert backups.find("failure") is None
    assert "WARN:" in (backups.findtext("system-out") or "")


def test_junit_counts_warnings_as_failures_with_fail_on_warn() -> None:
    root = parse(render(sample_report(), ReportFormat.JUNIT, fail_on=FailOn.WARN))
    assert root.get("failures") == "2"
    warn = root.find("testsuite[@name='backups']/testcase/failure")
    assert warn is not None
    assert warn.get("type") == "warn"


def test_markdown_has_a_table_per_category_and_what_to_fix() -> None:
    text = render(sample_report(), ReportFormat.MARKDOWN)
    assert text.startswith("# Production readiness\n")
    assert "**❌ fail** — 6 checks: 2 passed, 1 warned, 1 failed, 1 errors, 1 skipped" in text
    assert "## Deploy and rollback\n\n| Status | Check | Evidence |" in text
    assert "https://hooks \\| example" in text  # a pipe cannot break the table
    assert "## What to fix" in text
    assert "- **Each receiver delivers a test notification** (`alerting.test_notifications`" in text
    assert "rollback_drill" in text


def test_the_table_groups_by_category_and_ends_with_the_summary() -> None:
    text = render(sample_report(), ReportFormat.TABLE)
    for heading in ("Monitoring", "Alerting", "Backups", "Deploy and rollback", "Security"):
        assert heading in text
    assert "→ fix the failing channel's URL" in text
    assert text.rstrip().endswith(
        "FAIL: 6 checks: 2 passed, 1 warned, 1 failed, 1 errors, 1 skipped in 35.5s"
    )


def test_the_html_page_is_self_contained_and_escapes_evidence() -> None:
    page = render(sample_report(), ReportFormat.HTML)
    assert "<script src" not in page
    assert '<link rel="stylesheet"' not in page
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "uPlot" in page
    assert "rejected: 403 &lt;forbidden&gt;" in page
    data = page.split('<script id="report-data" type="application/json">')[1].split("</script>")[0]
    parsed = json.loads(data.replace("<\\/", "</"))
    assert set(parsed["endpoints"]) == {"backend/health", "frontend/"}
    assert 'data-id="performance.baseline"' in page
