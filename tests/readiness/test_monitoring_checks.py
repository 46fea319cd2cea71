"""Monitoring readiness: services have checks; collectors are fresh and targets up, as a
running Watchkeeper reports them (its real app, served on loopback, its scheduler run on
a fake clock) or as the validator's own collector run finds them; the instance's API and
self-metrics answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from watchkeeper.collect.targets import build_targets
from watchkeeper.config.loader import LoadedConfig
from watchkeeper.core.clock import FakeClock
from watchkeeper.readiness.checks.monitoring_coverage import ServicesHaveChecks
from watchkeeper.readiness.checks.monitoring_fresh import CollectorsFresh
from watchkeeper.readiness.checks.monitoring_instance import InstanceAnswers
from watchkeeper.readiness.checks.monitoring_selfmetrics import SelfMetrics
from watchkeeper.readiness.checks.monitoring_targets import TargetsUp
from watchkeeper.readiness.model import Status
from watchkeeper.runtime.app import Runtime, RuntimeOptions
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.web.app import create_app

from .apps import AppState, service_app
from .support import one, write_config

T0 = 1_800_000_000.0


@pytest.fixture
def app_state() -> AppState:
    return AppState()


@pytest.fixture
def app(app_state: AppState) -> Iterator[FakeServer]:
    with FakeServer(service_app(app_state)) as server:
        yield server


def body(app: FakeServer) -> str:
    return (
        "services:\n"
        "  - name: web\n    checks:\n"
        f"      - {{type: http, name: health, interval: 10s, url: '{app.url}/health'}}\n"
        "  - name: api\n    checks:\n"
        f"      - {{type: scrape, name: metrics, interval: 10s, url: '{app.url}/metrics'}}\n"
    )


@dataclass
class Instance:
    loaded: LoadedConfig
    rt: Runtime
    server: FakeServer


async def start_instance(
    tmp_path: Path, app: FakeServer, *, anonymous: bool = True, run: tuple[str, ...] | None = None
) -> Instance:
    port = free_port()
    security = "  anonymous_role: viewer\n" if anonymous else ""
    loaded = write_config(
        tmp_path, body(app), security=security, instance=f"http://127.0.0.1:{port}"
    )
    rt = Runtime(loaded, RuntimeOptions(clock=FakeClock(T0)))
    targets = build_targets(loaded.config)
    await rt.scheduler.reconfigure([t for t in targets if run is None or t.key in run])
    for st in rt.scheduler.targets():
        await rt.scheduler.run_once(st.key)
    server = FakeServer(create_app(rt), port=port).start()
    return Instance(loaded, rt, server)


@pytest.fixture
async def instance(tmp_path: Path, app: FakeServer) -> AsyncIterator[Instance]:
    inst = await start_instance(tmp_path, app)
    yield inst
    inst.server.stop()
    await inst.rt.stop()


async def test_services_with_enabled_checks_pass(tmp_path: Path, app: FakeServer) -> None:
    result = await one(write_config(tmp_path, body(app)), ServicesHaveChecks)
    assert result.status is Status.PASS
    assert result.evidence == "all 2 services have enabled checks"


async def test_a_service_without_enabled_checks_fails(tmp_path: Path, app: FakeServer) -> None:
    text = (
        body(app)
        + "  - name: worker\n    checks:\n"
        + "      - {type: http, url: 'http://127.0.0.1:9/', enabled: false}\n"
        + "  - name: batch\n"
    )
    result = await one(write_config(tmp_path, text), ServicesHaveChecks)
    assert result.status is Status.FAIL
    assert "worker: every check is disabled" in result.evidence
    assert "batch: no checks" in result.evidence


async def test_without_an_instance_the_collectors_are_run_directly(
    tmp_path: Path, app: FakeServer
) -> None:
    loaded = write_config(tmp_path, body(app))
    fresh = await one(loaded, CollectorsFresh)
    assert fresh.status is Status.PASS, fresh.evidence
    assert "the validator's own run of each collector" in fresh.evidence
    assert fresh.data["live"] is False
    up = await one(loaded, TargetsUp)
    assert up.status is Status.PASS


async def test_without_an_instance_a_failing_target_is_down(
    tmp_path: Path, app: FakeServer, app_state: AppState
) -> None:
    app_state.status = 500
    result = await one(write_config(tmp_path, body(app)), TargetsUp)
    assert result.status is Status.FAIL
    assert "web/health:" in result.evidence
    assert "500" in result.evidence


async def test_an_unreachable_collector_produces_no_data(tmp_path: Path, app: FakeServer) -> None:
    text = body(app).replace(f"{app.url}/metrics", f"http://127.0.0.1:{free_port()}/metrics")
    result = await one(write_config(tmp_path, text), CollectorsFresh)
    assert result.status is Status.FAIL
    assert "api/metrics: no data:" in result.evidence


async def test_data_within_two_intervals_is_fresh_and_older_data_is_stale(
    instance: Instance,
) -> None:
    fresh = await one(instance.loaded, CollectorsFresh, clock=FakeClock(T0 + 15))
    assert fresh.status is Status.PASS, fresh.evidence
    assert fresh.data["live"] is True
    assert "last data 15s ago (allowed 20s: 2 × 10s)" in fresh.details[0].evidence
    stale = await one(instance.loaded, CollectorsFresh, clock=FakeClock(T0 + 95))
    assert stale.status is Status.FAIL
    assert "web/health: last data 95s ago (allowed 20s" in stale.evidence


async def test_a_check_the_instance_does_not_run_asks_for_a_reload(
    tmp_path: Path, app: FakeServer
) -> None:
    inst = await start_instance(tmp_path, app, run=("web/health",))
    try:
        result = await one(inst.loaded, TargetsUp, clock=FakeClock(T0 + 1))
    finally:
        inst.server.stop()
        await inst.rt.stop()
    assert result.status is Status.FAIL
    assert "api/metrics: the running instance does not run this check; reload it" in result.evidence


async def test_a_down_target_on_the_instance_fails(
    tmp_path: Path, app: FakeServer, app_state: AppState
) -> None:
    app_state.status = 503
    inst = await start_instance(tmp_path, app)
    try:
        result = await one(inst.loaded, TargetsUp, clock=FakeClock(T0 + 1))
    finally:
        inst.server.stop()
        await inst.rt.stop()
    assert result.status is Status.FAIL
    assert "web/health:" in result.evidence
    assert "503" in result.evidence
    assert result.data["source"].startswith("the running instance at http://127.0.0.1:")


async def test_the_instance_answers_on_every_api(instance: Instance) -> None:
    result = await one(instance.loaded, InstanceAnswers)
    assert result.status is Status.PASS, result.evidence
    subjects = [d.subject for d in result.details]
    assert subjects == [
        "readiness probe /readyz",
        "dashboard /",
        "JSON API /api/v1/services",
        "query API /prometheus/api/v1/query",
    ]
    assert "2 targets" in result.details[0].evidence


async def test_the_instance_api_without_a_token_warns(tmp_path: Path, app: FakeServer) -> None:
    inst = await start_instance(tmp_path, app, anonymous=False)
    try:
        result = await one(inst.loaded, InstanceAnswers)
    finally:
        inst.server.stop()
        await inst.rt.stop()
    assert result.status is Status.WARN
    assert "refused without a token" in result.evidence


async def test_an_instance_that_refuses_to_list_its_checks_is_replaced_by_a_run(
    tmp_path: Path, app: FakeServer
) -> None:
    inst = await start_instance(tmp_path, app, anonymous=False)
    try:
        result = await one(inst.loaded, CollectorsFresh, clock=FakeClock(T0 + 1))
    finally:
        inst.server.stop()
        await inst.rt.stop()
    assert result.status is Status.PASS, result.evidence
    assert result.data["live"] is False
    assert "did not list its checks" in result.data["source"]
    assert "readiness.instance.token" in result.data["source"]


async def test_self_metrics_are_parsed_from_the_instance(instance: Instance) -> None:
    result = await one(instance.loaded, SelfMetrics)
    assert result.status is Status.PASS, result.evidence
    assert result.data["metrics"] > 5


def impostor_app() -> Starlette:
    """Something that is not Watchkeeper answering at the instance URL (a wrong port, a
    proxy): its /healthz works, the rest does not."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def unavailable(request: Request) -> Response:
        return JSONResponse({"status": "unavailable", "problems": ["state database: down"]}, 503)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse("# TYPE up gauge\nup 1\n")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", unavailable),
            Route("/metrics", metrics),
        ]
    )


async def test_an_instance_that_is_not_ready_or_not_watchkeeper_fails(
    tmp_path: Path, app: FakeServer
) -> None:
    with FakeServer(impostor_app()) as impostor:
        loaded = write_config(tmp_path, body(app), instance=impostor.url)
        answers = await one(loaded, InstanceAnswers)
        metrics = await one(loaded, SelfMetrics)
    assert answers.status is Status.FAIL
    assert "readiness probe /readyz: HTTP 503" in answers.evidence
    assert "not ready: state database: down" in answers.evidence
    assert "dashboard /: HTTP 404" in answers.evidence
    assert metrics.status is Status.FAIL
    assert "exports 1 samples but no watchkeeper_* metric" in metrics.evidence


async def test_instance_checks_are_skipped_when_nothing_answers(
    tmp_path: Path, app: FakeServer
) -> None:
    loaded = write_config(tmp_path, body(app))
    for check in (InstanceAnswers, SelfMetrics):
        result = await one(loaded, check)
        assert result.status is Status.SKIP
        assert "no running Watchkeeper at http://127.0.0.1:" in result.evidence
        assert "--url" in result.remediation
