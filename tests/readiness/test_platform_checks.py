"""Backups, scaling, CI/CD and rollback targets, judged from the real collectors' run
against the platform fakes."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.readiness.checks.backups_age import NewestBackup
from watchkeeper.readiness.checks.backups_pitr import PointInTimeRecovery
from watchkeeper.readiness.checks.cicd_github import LatestRunSucceeded
from watchkeeper.readiness.checks.cicd_vercel import VercelProduction
from watchkeeper.readiness.checks.deploy_targets import RollbackTargets
from watchkeeper.readiness.checks.monitoring_targets import TargetsUp
from watchkeeper.readiness.checks.scaling_connections import ConnectionHeadroom
from watchkeeper.readiness.checks.scaling_render import RenderScaling
from watchkeeper.readiness.model import Status
from watchkeeper.testing.github import FakeGithub
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.supabase import FakeSupabase
from watchkeeper.testing.vercel import FakeVercel

from .support import (
    github_check,
    one,
    render_check,
    supabase_check,
    vercel_check,
    write_config,
)

Fake = tuple[FakeSupabase, FakeServer]


def _db(tmp_path: Path, supabase: Fake, readiness: str = "", metrics: bool = True):  # type: ignore[no-untyped-def]
    fake, server = supabase
    body = "services:\n  - name: database\n    checks:\n" + supabase_check(
        server, fake, metrics=metrics
    )
    return write_config(tmp_path, body, readiness=readiness)


async def test_a_fresh_backup_passes(tmp_path: Path, supabase: Fake) -> None:
    result = await one(_db(tmp_path, supabase), NewestBackup)
    assert result.status is Status.PASS, result.evidence
    assert "newest backup 6.0h old (limit 26.0h)" in result.evidence


async def test_a_stale_backup_fails(tmp_path: Path, supabase: Fake) -> None:
    supabase[0].make_backup_stale(30)
    result = await one(_db(tmp_path, supabase), NewestBackup)
    assert result.status is Status.FAIL
    assert "newest backup 30.0h old (limit 26.0h)" in result.evidence
    assert "Backups" in result.remediation


async def test_backup_age_limit_comes_from_the_config(tmp_path: Path, supabase: Fake) -> None:
    loaded = _db(tmp_path, supabase, readiness="  backups: {max_age: 4h}\n")
    result = await one(loaded, NewestBackup)
    assert result.status is Status.FAIL


async def test_pitr_disabled_fails_only_when_required(tmp_path: Path, supabase: Fake) -> None:
    relaxed = await one(_db(tmp_path, supabase), PointInTimeRecovery)
    assert relaxed.status is Status.PASS
    strict = _db(tmp_path, supabase, readiness="  backups: {require_pitr: true}\n")
    assert (await one(strict, PointInTimeRecovery)).status is Status.FAIL
    supabase[0].set_pitr(True)
    assert (await one(strict, PointInTimeRecovery)).status is Status.PASS


async def test_connection_headroom_passes_then_fails_near_the_maximum(
    tmp_path: Path, supabase: Fake
) -> None:
    loaded = _db(tmp_path, supabase)
    ok = await one(loaded, ConnectionHeadroom)
    assert ok.status is Status.PASS
    assert "13 of 60 connections in use (22%" in ok.evidence
    supabase[0].set_connections(55, 60)
    full = await one(loaded, ConnectionHeadroom)
    assert full.status is Status.FAIL
    assert "55 of 60" in full.evidence


async def test_connection_headroom_is_skipped_without_the_metrics_endpoint(
    tmp_path: Path, supabase: Fake
) -> None:
    result = await one(_db(tmp_path, supabase, metrics=False), ConnectionHeadroom)
    assert result.status is Status.SKIP
    assert "service_role_key" in result.evidence


def _backend(tmp_path: Path, render: tuple[FakeRender, FakeServer], readiness: str = ""):  # type: ignore[no-untyped-def]
    fake, server = render
    body = "services:\n  - name: backend\n    checks:\n" + render_check(server, fake)
    return write_config(tmp_path, body, readiness=readiness)


async def test_render_autoscaling_with_two_instances_passes(
    tmp_path: Path, render: tuple[FakeRender, FakeServer]
) -> None:
    result = await one(_backend(tmp_path, render), RenderScaling)
    assert result.status is Status.PASS, result.evidence
    assert "autoscaling 2..5, 2 running, plan standard" in result.evidence


async def test_render_minimum_of_one_fails_for_production(
    tmp_path: Path, render: tuple[FakeRender, FakeServer]
) -> None:
    render[0].set_autoscaling(True, 1, 3)
    render[0].set_instances(1)
    result = await one(_backend(tmp_path, render), RenderScaling)
    assert result.status is Status.FAIL
    assert "minimum 1 instances, below 2" in result.evidence
    staging = _backend(tmp_path, render, readiness="  scaling: {production_services: []}\n")
    assert (await one(staging, RenderScaling)).status is Status.PASS


async def test_render_free_plan_and_instances_out_of_bounds_fail(
    tmp_path: Path, render: tuple[FakeRender, FakeServer]
) -> None:
    render[0].set_plan("free")
    render[0].set_instances(7)
    result = await one(_backend(tmp_path, render), RenderScaling)
    assert result.status is Status.FAIL
    assert "plan 'free' is a free tier" in result.evidence
    assert "7 instances running, outside 2..5" in result.evidence


def _ci(tmp_path: Path, github: tuple[FakeGithub, FakeServer]):  # type: ignore[no-untyped-def]
    fake, server = github
    body = "services:\n  - name: ci\n    checks:\n" + github_check(server, fake)
    return write_config(tmp_path, body)


async def test_a_green_default_branch_passes(
    tmp_path: Path, github: tuple[FakeGithub, FakeServer]
) -> None:
    result = await one(_ci(tmp_path, github), LatestRunSucceeded)
    assert result.status is Status.PASS
    assert "acme/api@main: success" in result.evidence


async def test_a_failing_ci_run_fails(
    tmp_path: Path, github: tuple[FakeGithub, FakeServer]
) -> None:
    github[0].add_run("failure", title="feat: broken build")
    result = await one(_ci(tmp_path, github), LatestRunSucceeded)
    assert result.status is Status.FAIL
    assert "failure: feat: broken build" in result.evidence
    assert "1 failing run(s) in a row" in result.evidence


def _web(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    github: tuple[FakeGithub, FakeServer] | None = None,
    token: str | None = None,
):
    fake, server = vercel
    body = "services:\n  - name: frontend\n    checks:\n" + vercel_check(server, fake, token)
    if github is not None:
        body += "  - name: ci\n    checks:\n" + github_check(github[1], github[0])
    return write_config(tmp_path, body)


async def test_a_ready_current_production_deployment_passes(
    tmp_path: Path, vercel: tuple[FakeVercel, FakeServer]
) -> None:
    result = await one(_web(tmp_path, vercel), VercelProduction)
    assert result.status is Status.PASS, result.evidence
    assert "READY and serving" in result.evidence


async def test_a_failed_newest_deployment_fails(
    tmp_path: Path, vercel: tuple[FakeVercel, FakeServer]
) -> None:
    vercel[0].deploy(state="ERROR", error_message='Command "npm run build" exited with 1')
    result = await one(_web(tmp_path, vercel), VercelProduction)
    assert result.status is Status.FAIL
    assert "is ERROR" in result.evidence
    assert "npm run build" in result.evidence


async def test_production_rolled_back_to_an_older_deployment_fails(
    tmp_path: Path, vercel: tuple[FakeVercel, FakeServer]
) -> None:
    fake = vercel[0]
    first = fake.serving_id
    fake.deploy(state="READY")
    assert first is not None
    fake.rollback(first)
    result = await one(_web(tmp_path, vercel), VercelProduction)
    assert result.status is Status.FAIL
    assert f"production serves {first}" in result.evidence


async def test_production_commit_is_compared_with_the_latest_commit_on_the_branch(
    tmp_path: Path, vercel: tuple[FakeVercel, FakeServer]
) -> None:
    gh = FakeGithub(repo="acme/web")
    with gh.serve() as server:
        latest = str(gh.runs[0]["head_sha"])
        vercel[0].deploy(state="READY", commit_sha="0" * 40)
        behind = await one(_web(tmp_path, vercel, (gh, server)), VercelProduction)
        assert behind.status is Status.FAIL
        assert f"the latest on main is {latest[:10]}" in behind.evidence
        vercel[0].deploy(state="READY", commit_sha=latest)
        current = await one(_web(tmp_path, vercel, (gh, server)), VercelProduction)
        assert current.status is Status.PASS, current.evidence
        assert "the latest of acme/web@main" in current.evidence


async def test_rollback_targets_need_an_earlier_healthy_deployment(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
) -> None:
    body = (
        "services:\n  - name: frontend\n    checks:\n"
        + vercel_check(vercel[1], vercel[0])
        + "  - name: backend\n    checks:\n"
        + render_check(render[1], render[0])
    )
    loaded = write_config(tmp_path, body)
    first = await one(loaded, RollbackTargets)
    assert first.status is Status.FAIL
    assert "no earlier READY production deployment" in first.evidence
    assert "no earlier deploy that was live" in first.evidence
    vercel[0].deploy(state="READY")
    render[0].deploy("live")
    second = await one(loaded, RollbackTargets)
    assert second.status is Status.PASS, second.evidence
    assert "vercel: can roll back to dpl_0001" in second.evidence
    assert "render: can roll back to dep-" in second.evidence


async def test_a_rejected_token_is_reported_as_a_configuration_error(
    tmp_path: Path, vercel: tuple[FakeVercel, FakeServer]
) -> None:
    loaded = _web(tmp_path, vercel, token="wrong")
    result = await one(loaded, TargetsUp)
    assert result.status is Status.FAIL
    assert "configuration error (credentials)" in result.evidence
    assert "token" in result.remediation
    cicd = await one(loaded, VercelProduction)
    assert cicd.status is Status.FAIL
    assert "configuration error (credentials)" in cicd.evidence
