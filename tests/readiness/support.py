"""Helpers for the readiness tests: configs written to a temporary directory (with the
running instance pointed at a closed port unless a test gives one), checks run through
the real runner, and the platform fakes served on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from watchkeeper.config.loader import LoadedConfig, load_config
from watchkeeper.core.clock import Clock, SystemClock
from watchkeeper.readiness.check import Check, RunOptions
from watchkeeper.readiness.model import CheckResult, Report
from watchkeeper.readiness.runner import validate
from watchkeeper.testing.github import FakeGithub
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.supabase import FakeSupabase
from watchkeeper.testing.vercel import FakeVercel

FAST_ARGON2 = "argon2: {time_cost: 1, memory_cost: 64, parallelism: 1}"


def write_config(
    tmp_path: Path,
    body: str,
    *,
    readiness: str = "",
    security: str = "",
    instance: str | None = None,
) -> LoadedConfig:
    """A config file of ``body`` (services, alerting, ...) plus the storage, security and
    readiness sections every test needs; ``readiness`` and ``security`` are extra lines
    indented by two spaces. Returns it loaded."""
    url = instance or f"http://127.0.0.1:{free_port()}"
    text = (
        f"storage: {{path: '{tmp_path / 'data'}'}}\n"
        f"security:\n  {FAST_ARGON2}\n{security}"
        + body
        + f"\nreadiness:\n  instance: {{url: '{url}', timeout: 2s}}\n"
        + readiness
    )
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


async def run_checks(
    loaded: LoadedConfig,
    *checks: type[Check] | Check,
    options: RunOptions | None = None,
    clock: Clock | None = None,
    env: dict[str, str] | None = None,
) -> Report:
    chosen = [c() if isinstance(c, type) else c for c in checks]
    return await validate(
        loaded,
        options or RunOptions(),
        clock=clock or SystemClock(),
        checks=chosen,
        env=env,
    )


async def one(loaded: LoadedConfig, check: type[Check] | Check, **kw: Any) -> CheckResult:
    report = await run_checks(loaded, check, **kw)
    return report.results[0]


def vercel_check(server: FakeServer, fake: FakeVercel, token: str | None = None) -> str:
    return (
        f"      - {{type: vercel, name: vercel, base_url: '{server.url}', "
        f"token: '{token or fake.token}', project: {fake.project_name}}}\n"
    )


def render_check(server: FakeServer, fake: FakeRender) -> str:
    return (
        f"      - {{type: render, name: render, base_url: '{server.url}/v1', "
        f"token: '{fake.token}', service_id: {fake.service_id}}}\n"
    )


def supabase_check(server: FakeServer, fake: FakeSupabase, *, metrics: bool = True) -> str:
    extra = (
        f", service_role_key: '{fake.service_role_key}', "
        f"metrics_url: '{server.url}/customer/v1/privileged/metrics'"
        if metrics
        else ""
    )
    return (
        f"      - {{type: supabase, name: supabase, base_url: '{server.url}', "
        f"token: '{fake.token}', project_ref: {fake.ref}{extra}}}\n"
    )


def github_check(server: FakeServer, fake: FakeGithub) -> str:
    return (
        f"      - {{type: github, name: actions, base_url: '{server.url}', "
        f"token: '{fake.token}', repo: {fake.repo}, workflow: {fake.workflow}}}\n"
    )
