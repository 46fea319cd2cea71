"""The performance baseline: a bounded load against real endpoints on loopback, judged
against the SLA and a stored baseline; the baseline file is recorded and read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.readiness.baseline import BASELINE_KIND, read_baseline
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.checks.performance import PerformanceBaseline
from watchkeeper.readiness.model import Status
from watchkeeper.readiness.report.jsonfmt import to_json
from watchkeeper.testing.server import FakeServer

from .apps import AppState, service_app
from .support import one, run_checks, write_config


@pytest.fixture
def state() -> AppState:
    return AppState()


@pytest.fixture
def app(state: AppState) -> Iterator[FakeServer]:
    with FakeServer(service_app(state)) as server:
        yield server


def loaded(tmp_path: Path, app: FakeServer, sla: str = "{p95: 2s, p99: 3s}") -> LoadedConfig:
    body = (
        "services:\n  - name: api\n    checks:\n"
        f"      - {{type: http, name: health, url: '{app.url}/health'}}\n"
    )
    readiness = (
        "  performance:\n    requests: 20\n    concurrency: 4\n"
        f"    endpoints:\n      - {{service: api, url: '{app.url}/slow', sla: {sla}}}\n"
    )
    return write_config(tmp_path, body, readiness=readiness)


async def test_a_fast_endpoint_within_the_sla_passes(tmp_path: Path, app: FakeServer) -> None:
    result = await one(loaded(tmp_path, app), PerformanceBaseline)
    assert result.status is Status.PASS, result.evidence
    figures = result.data["endpoints"]["api/slow"]
    assert figures["requests"] == 20
    assert figures["concurrency"] == 4
    assert figures["errors"] == 0
    assert len(figures["curve"]) == 101
    assert figures["p50"] <= figures["p95"] <= figures["p99"]


async def test_a_slow_endpoint_fails_its_sla(
    tmp_path: Path, app: FakeServer, state: AppState
) -> None:
    state.delay = 0.15
    result = await one(loaded(tmp_path, app, sla="{p95: 50ms, p99: null}"), PerformanceBaseline)
    assert result.status is Status.FAIL
    assert "api/slow: p95" in result.evidence
    assert "above the SLA of 50 ms" in result.evidence
    assert result.data["endpoints"]["api/slow"]["p50"] >= 0.15


async def test_server_errors_count_against_the_error_rate(tmp_path: Path, app: FakeServer) -> None:
    readiness = (
        "  performance:\n    requests: 10\n    concurrency: 2\n"
        f"    endpoints: [{{service: api, url: '{app.url}/missing'}}]\n"
    )
    cfg = write_config(tmp_path, "services:\n  - name: api\n", readiness=readiness)
    result = await one(cfg, PerformanceBaseline)
    assert result.status is Status.FAIL
    assert "error rate 100.0% above 1.0% (first: HTTP 404)" in result.evidence


async def test_default_endpoints_are_the_http_checks(tmp_path: Path, app: FakeServer) -> None:
    body = (
        "services:\n  - name: api\n    checks:\n"
        f"      - {{type: http, name: health, url: '{app.url}/health'}}\n"
    )
    cfg = write_config(tmp_path, body, readiness="  performance: {requests: 5, concurrency: 1}\n")
    result = await one(cfg, PerformanceBaseline)
    assert result.status is Status.PASS, result.evidence
    assert list(result.data["endpoints"]) == ["api/health"]


async def test_a_baseline_is_recorded_then_a_regression_beyond_tolerance_fails(
    tmp_path: Path, app: FakeServer, state: AppState
) -> None:
    baseline = tmp_path / "baseline.json"
    cfg = loaded(tmp_path, app)
    first = await one(cfg, PerformanceBaseline, options=RunOptions(baseline=baseline))
    assert first.status is Status.PASS
    assert "baseline recorded in baseline.json" in first.evidence
    doc = json.loads(baseline.read_text())
    assert doc["kind"] == BASELINE_KIND
    assert set(doc["endpoints"]) == {"api/slow"}
    state.delay = 0.2
    second = await one(cfg, PerformanceBaseline, options=RunOptions(baseline=baseline))
    assert second.status is Status.FAIL
    assert "slower than the baseline" in second.evidence
    assert "--update-baseline" in second.remediation
    assert json.loads(baseline.read_text()) == doc  # a failing run does not move it
    third = await one(
        cfg, PerformanceBaseline, options=RunOptions(baseline=baseline, update_baseline=True)
    )
    assert read_baseline(baseline)["api/slow"].p50 >= 0.2
    assert third.status is Status.FAIL


async def test_a_json_report_serves_as_a_baseline(tmp_path: Path, app: FakeServer) -> None:
    cfg = loaded(tmp_path, app)
    report = await run_checks(cfg, PerformanceBaseline)
    path = tmp_path / "last-report.json"
    path.write_text(to_json(report), encoding="utf-8")
    figures = read_baseline(path)
    assert set(figures) == {"api/slow"}
    again = await one(cfg, PerformanceBaseline, options=RunOptions(baseline=path))
    assert "baseline p95" in again.details[0].evidence


async def test_a_file_that_is_no_baseline_is_an_error(tmp_path: Path, app: FakeServer) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    result = await one(
        loaded(tmp_path, app), PerformanceBaseline, options=RunOptions(baseline=path)
    )
    assert result.status is Status.ERROR
    assert "neither a performance baseline nor a readiness JSON report" in result.evidence
