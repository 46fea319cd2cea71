"""Platform collectors (Vercel, Render, Supabase, GitHub) against their loopback fakes:
the series each produces, and one contract every platform passes (expired token, 429
storm, malformed JSON, API down or unreachable, rate-limit back-off, secret redaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.config import CheckBase
from watchkeeper.collect.github.config import GithubCheckConfig
from watchkeeper.collect.render.config import RenderCheckConfig
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.supabase.config import SupabaseCheckConfig
from watchkeeper.collect.vercel.config import VercelCheckConfig
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing.github import FakeGithub
from watchkeeper.testing.paas import ApiFake
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.supabase import FakeSupabase
from watchkeeper.testing.vercel import FakeVercel

from .support import RecordingStore, scheduled


@dataclass
class Platform:
    name: str
    fake: Callable[[], ApiFake]
    config: Callable[[str, str], CheckBase]  # (base url, token) -> check


PLATFORMS = [
    Platform(
        "vercel",
        FakeVercel,
        lambda url, token: VercelCheckConfig(token=token, project="acme-web", base_url=url),
    ),
    Platform(
        "render",
        FakeRender,
        lambda url, token: RenderCheckConfig(
            token=token, service_id="srv-d1a2b3c4d5e6f7g8h9i0", base_url=url + "/v1"
        ),
    ),
    Platform(
        "supabase",
        FakeSupabase,
        lambda url, token: SupabaseCheckConfig(
            token=token,
            project_ref="abcdefghijklmnopqrst",
            base_url=url,
            service_role_key="service-role-jwt",
            metrics_url=url + "/customer/v1/privileged/metrics",
        ),
    ),
    Platform(
        "github",
        FakeGithub,
        lambda url, token: GithubCheckConfig(
            token=token, repo="acme/api", workflow="ci.yml", base_url=url
        ),
    ),
]


class Rig:
    """A fake platform on loopback and a scheduler (without loops) for one check."""

    def __init__(self, fake: ApiFake, server: FakeServer, http: httpx.AsyncClient) -> None:
        self.fake = fake
        self.server = server
        self.store = RecordingStore()
        self.scheduler = Scheduler(self.store, clock=SystemClock(), http=http)
        self.key = ""

    async def use(self, check: CheckBase) -> None:
        st = scheduled(check, service="frontend")
        self.key = st.key
        await self.scheduler.reconfigure([st])

    async def run(self) -> TargetStatus:
        return await self.scheduler.run_once(self.key)


@pytest.fixture
async def rigs(http_client: httpx.AsyncClient) -> AsyncIterator[Callable[[ApiFake], Any]]:
    opened: list[tuple[FakeServer, Rig]] = []

    async def open_rig(fake: ApiFake) -> Rig:
        server = fake.serve()  # type: ignore[attr-defined]
        server.start()
        rig = Rig(fake, server, http_client)
        opened.append((server, rig))
        return rig

    yield open_rig
    for server, rig in opened:
        await rig.scheduler.stop()
        server.stop()


async def platform_rig(platform: Platform, rigs: Any, token: str | None = None) -> Rig:
    fake = platform.fake()
    rig: Rig = await rigs(fake)
    await rig.use(platform.config(rig.server.url, token or fake.token))
    return rig


# ---------------------------------------------------------------------- contract


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_healthy_platform_is_up_with_rate_limit_series(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    status = await rig.run()
    assert status.status is CheckStatus.UP, status.error
    assert rig.store.latest(f"watchkeeper_{platform.name}_api_rate_limit_remaining") >= 0
    assert rig.store.latest("up") == 1.0
    assert all(
        r.headers["authorization"].startswith("Bearer ")
        for r in rig.server.requests
        if not r.path.startswith("/customer/")
    )


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_expired_token_is_a_configuration_error(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    rig.fake.rotate_token("a-new-token")
    status = await rig.run()
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.AUTH
    assert status.to_dict()["config_error"] is True
    assert status.error is not None
    assert "refused the credentials" in status.error
    assert "set a valid one in the check's token (or token_file)" in status.error
    assert rig.fake.token not in status.error


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_429_storm_backs_off_instead_of_hammering(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    rig.fake.rate_limit_storm(50)
    first = await rig.run()
    assert first.status is CheckStatus.DOWN
    assert first.reason is CollectFailure.RATE_LIMITED
    assert first.error is not None
    assert "rate limiting Watchkeeper (HTTP 429" in first.error
    calls = len(rig.server.requests)
    second = await rig.run()
    assert second.reason is CollectFailure.RATE_LIMITED
    assert second.error is not None
    assert second.error.startswith("backing off")
    assert len(rig.server.requests) == calls  # no request while backing off


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_rate_limit_after_good_data_resends_it_marked(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    assert (await rig.run()).status is CheckStatus.UP
    rig.fake.rate_limit_storm(50)
    status = await rig.run()
    assert status.status is CheckStatus.UP
    assert "rate_limited" in status.detail
    assert "data_from" in status.detail
    assert rig.store.stale() == []


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_backs_off_before_the_limit_is_hit(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    rig.fake.set_rate_limit(3, 60)
    await rig.run()
    calls = len(rig.server.requests)
    status = await rig.run()
    assert len(rig.server.requests) == calls
    assert status.detail.get("rate_limited", status.error or "").startswith("backing off")


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_malformed_json_is_a_bad_response(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    rig.fake.malformed_next(1)
    status = await rig.run()
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.BAD_RESPONSE
    assert status.error is not None
    assert "malformed JSON" in status.error


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_api_down_is_reported_with_its_status(platform: Platform, rigs: Any) -> None:
    rig = await platform_rig(platform, rigs)
    rig.fake.set_down(True)
    status = await rig.run()
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.HTTP_STATUS
    assert status.detail["status_code"] == 503
    rig.fake.set_down(False)
    assert (await rig.run()).status is CheckStatus.UP


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
async def test_api_unreachable_is_a_connection_failure(
    platform: Platform, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    from .support import run_check

    check = platform.config(f"http://127.0.0.1:{free_port()}", "t")
    status = await run_check(check, store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.CONNECTION


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
def test_token_is_redacted_when_dumped(platform: Platform) -> None:
    check = platform.config("http://127.0.0.1:1", "very-secret-token")
    dumped = check.model_dump_json()
    assert "very-secret-token" not in dumped
    assert "very-secret-token" not in repr(check)
    assert type(check).model_validate({**check.model_dump(), "token": "x"}).type == check.type


# ---------------------------------------------------------------------- series


async def test_vercel_failed_production_deployment_and_rollback(rigs: Any) -> None:
    rig = await platform_rig(PLATFORMS[0], rigs)
    fake: FakeVercel = rig.fake  # type: ignore[assignment]
    serving = fake.serving_id
    fake.deploy(state="ERROR", age=60.0, error_message="build exploded")
    fake.set_domain("www.acme-web.dev", False)
    status = await rig.run()
    s = rig.store
    assert s.latest("watchkeeper_vercel_production_deployment_failed") == 1.0
    assert s.latest("watchkeeper_vercel_production_deployment_state", state="ERROR") == 1.0
    assert s.latest("watchkeeper_vercel_production_deployment_state", state="READY") == 0.0
    assert s.latest("watchkeeper_vercel_serving_is_newest") == 0.0
    assert s.latest("watchkeeper_vercel_serving_deployment_info", deployment_id=serving) == 1.0
    assert s.latest("watchkeeper_vercel_failed_deployments") == 1.0
    assert s.latest("watchkeeper_vercel_build_duration_seconds") == pytest.approx(60.0)
    assert s.latest("watchkeeper_vercel_domain_verified", domain="www.acme-web.dev") == 0.0
    assert s.latest("watchkeeper_vercel_production_deployment_age_seconds") > 86000
    assert status.detail["newest_error"] == "build exploded"
    assert status.detail["unverified_domains"] == ["www.acme-web.dev"]


async def test_vercel_pages_through_deployments(rigs: Any) -> None:
    fake = FakeVercel()
    for i in range(130):
        fake.deploy(state="READY", age=1000.0 + i)
    rig = await rigs(fake)
    await rig.use(
        VercelCheckConfig(
            token=fake.token, project="acme-web", base_url=rig.server.url, deployments=150
        )
    )
    await rig.run()
    assert rig.store.latest("watchkeeper_vercel_deployments", state="READY") == 131.0
    pages = [r for r in rig.server.requests if r.path == "/v6/deployments"]
    assert len(pages) == 2
    assert "until=" in pages[1].query


async def test_vercel_stuck_build_is_measured(rigs: Any) -> None:
    rig = await platform_rig(PLATFORMS[0], rigs)
    rig.fake.deploy(state="BUILDING", age=1800.0)  # type: ignore[attr-defined]
    await rig.run()
    assert rig.store.latest("watchkeeper_vercel_deployment_in_progress_seconds") >= 1800


async def test_render_service_deploy_and_metrics(rigs: Any) -> None:
    rig = await platform_rig(PLATFORMS[1], rigs)
    fake: FakeRender = rig.fake  # type: ignore[assignment]
    fake.deploy("build_failed", age=10.0, duration=120.0)
    fake.set_instances(5)
    fake.set_autoscaling(True, 2, 5)
    fake.set_metric("cpu", [({"instance": "srv-x-1"}, 0.95)])
    status = await rig.run()
    assert status.status is CheckStatus.UP, status.error
    s = rig.store
    assert s.latest("watchkeeper_render_deploy_failed") == 1.0
    assert s.latest("watchkeeper_render_deploy_status", status="build_failed") == 1.0
    assert s.latest("watchkeeper_render_deploy_duration_seconds") == pytest.approx(119.0)
    assert s.latest("watchkeeper_render_instances") == 5.0
    assert s.latest("watchkeeper_render_autoscaling_max_instances") == 5.0
    assert s.latest("watchkeeper_render_cpu_usage_cores", instance_id="srv-x-1") == 0.95
    assert s.latest("watchkeeper_render_cpu_limit_cores") == 1.0
    assert s.latest("watchkeeper_render_memory_limit_bytes") == 2e9
    assert s.latest("watchkeeper_render_http_requests_per_second", status_code="500") == 0.1
    assert s.latest("watchkeeper_render_http_latency_seconds", quantile="0.95") == 0.12
    assert s.latest("watchkeeper_render_service_suspended") == 0.0


async def test_supabase_health_backups_usage_and_metrics_endpoint(rigs: Any) -> None:
    rig = await platform_rig(PLATFORMS[2], rigs)
    fake: FakeSupabase = rig.fake  # type: ignore[assignment]
    fake.set_component("storage", False, "timeout of 2000ms exceeded")
    fake.make_backup_stale(30)
    fake.set_connections(50, 60)
    status = await rig.run()
    s = rig.store
    assert s.latest("watchkeeper_supabase_project_healthy") == 1.0
    assert s.latest("watchkeeper_supabase_component_healthy", component="storage") == 0.0
    assert s.latest("watchkeeper_supabase_component_healthy", component="db") == 1.0
    assert s.latest("watchkeeper_supabase_newest_backup_age_seconds") == pytest.approx(
        30 * 3600, abs=5
    )
    assert s.latest("watchkeeper_supabase_backups", status="FAILED") == 1.0
    assert s.latest("watchkeeper_supabase_api_requests", api="rest") == 764.0
    assert s.latest("connection_stats_connection_count", username="authenticator") == 50.0
    assert s.latest("max_connections_connection_count") == 60.0
    assert status.detail["unhealthy_components"] == ["storage: timeout of 2000ms exceeded"]
    metrics_req = next(r for r in rig.server.requests if r.path.startswith("/customer/"))
    assert metrics_req.headers["authorization"].startswith("Basic ")
    health_req = next(r for r in rig.server.requests if r.path.endswith("/health"))
    assert health_req.query.count("services=") == 6


async def test_supabase_pitr_uses_the_latest_physical_backup(rigs: Any) -> None:
    rig = await platform_rig(PLATFORMS[2], rigs)
    rig.fake.set_pitr(True)  # type: ignore[attr-defined]
    await rig.run()
    assert rig.store.latest("watchkeeper_supabase_pitr_enabled") == 1.0
    assert rig.store.latest("watchkeeper_supabase_newest_backup_age_seconds") < 6 * 3600 + 5


async def test_github_failure_streak_spans_pages(rigs: Any) -> None:
    fake = FakeGithub()
    for _ in range(4):
        fake.add_run("failure")
    fake.add_run("cancelled")
    fake.add_run("failure")
    fake.add_run(None, status="in_progress")
    rig = await rigs(fake)
    await rig.use(
        GithubCheckConfig(
            token=fake.token,
            repo="acme/api",
            workflow="ci.yml",
            base_url=rig.server.url,
            per_page=3,
        )
    )
    status = await rig.run()
    s = rig.store
    labels = {"workflow": "ci.yml", "branch": "main"}
    assert s.latest("watchkeeper_github_failure_streak", **labels) == 5.0
    assert s.latest("watchkeeper_github_latest_run_success", **labels) == 0.0
    assert s.latest("watchkeeper_github_latest_run_conclusion", conclusion="failure") == 1.0
    assert s.latest("watchkeeper_github_runs_in_progress") == 1.0
    assert s.latest("watchkeeper_github_latest_run_duration_seconds") == pytest.approx(300.0)
    assert status.detail["failure_streak"] == 5
    assert len(rig.server.requests) == 3  # stopped at the page holding the last success
    assert rig.server.requests[0].headers["x-github-api-version"] == "2022-11-28"
