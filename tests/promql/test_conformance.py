"""Prometheus' own PromQL test files, run by :mod:`watchkeeper.promql.promqltest`.

The files are found in ``$WATCHKEEPER_PROMQL_TESTDATA`` or ``../shared/conformance/promql``
next to the repository; without them the test is a loud skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchkeeper.promql.promqltest import FileReport, run_file
from watchkeeper.testing import tools

REPO_ROOT = Path(__file__).resolve().parents[2]
NATIVE_HISTOGRAM_FILE = "native_histograms.test"
EXPERIMENTAL = ("sort_by_label", "mad_over_time")
MIN_PASS_RATIO = 0.95


def find_testdata() -> Path | None:
    configured = os.environ.get("WATCHKEEPER_PROMQL_TESTDATA")
    candidate = (
        Path(configured) if configured else REPO_ROOT.parent / "shared" / "conformance" / "promql"
    )
    return candidate if candidate.is_dir() and any(candidate.glob("*.test")) else None


@pytest.fixture(scope="module")
def reports() -> list[FileReport]:
    folder = find_testdata()
    if folder is None:
        message = (
            "MISSING TEST DATA: Prometheus' PromQL test files were not found; set "
            "WATCHKEEPER_PROMQL_TESTDATA to a folder of *.test files"
        )
        if tools.tools_required():
            pytest.fail(message)
        pytest.skip(message)
    return [run_file(p) for p in sorted(folder.glob("*.test"))]


def test_at_least_95_percent_of_stable_float_evals_pass(reports: list[FileReport]) -> None:
    counted = passed = 0
    failures = []
    for report in reports:
        if report.path.name == NATIVE_HISTOGRAM_FILE:
            continue
        assert report.error is None, report.error
        for outcome in report.outcomes:
            if any(name in outcome.expr for name in EXPERIMENTAL):
                continue
            counted += 1
            if outcome.status == "passed":
                passed += 1
            else:
                failures.append(
                    f"{report.path.name}:{outcome.line} {outcome.expr}: {outcome.reason}"
                )
    assert counted >= 500, f"only {counted} evals found; is the test data complete?"
    ratio = passed / counted
    assert ratio >= MIN_PASS_RATIO, f"{passed}/{counted} passed:\n" + "\n".join(failures)


def test_files_without_native_histograms_run_every_eval(reports: list[FileReport]) -> None:
    for report in reports:
        if report.path.name == NATIVE_HISTOGRAM_FILE:
            assert report.passed == 0
            assert report.skipped > 0
        else:
            assert report.skipped == 0, report.summary_line()
