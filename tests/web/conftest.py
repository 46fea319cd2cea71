"""A runtime built from a small config, and its app (not started: routes only)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from watchkeeper.alerting.model import AlertInput
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.labels import Labels
from watchkeeper.runtime.app import Runtime, RuntimeOptions
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.web.app import create_app

CONFIG = """
storage: {{path: {data}}}
security: {{anonymous_role: {anon}, argon2: {{time_cost: 1, memory_cost: 64, parallelism: 1}}}}
services:
  - name: backend
    checks:
      - type: http
        url: http://127.0.0.1:9/health
alerting:
  route: {{receiver: hook}}
  receivers:
    - name: hook
      webhook_configs: [{{url: "http://127.0.0.1:9/hook"}}]
"""


def make_runtime(tmp_path: Path, anonymous_role: str = "null") -> Runtime:
    text = CONFIG.format(data=tmp_path / "data", anon=anonymous_role)
    return Runtime(load_config_text(text, base_dir=tmp_path))


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(tmp_path)
    yield rt
    rt.store.close()
    rt.db.dispose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- a richer stack for the page, status and matrix tests ------------------------------

RULES = """
groups:
  - name: backend
    interval: 1s
    rules:
      - alert: BackendSlowBuild
        expr: vector(1)
        for: 1h
        labels: {service: backend, severity: warning}
        annotations: {summary: "the build is slow"}
"""

FULL_CONFIG = """
storage: {{path: {data}}}
security: {{anonymous_role: null, argon2: {{time_cost: 1, memory_cost: 64, parallelism: 1}}}}
rule_files: [{rules}]
services:
  - name: backend
    display_name: Backend API
    description: internal quote service on render
    checks:
      - type: http
        url: http://127.0.0.1:9/health
  - name: frontend
    checks:
      - type: http
        url: http://127.0.0.1:9/
  - name: secret-internal
    checks:
      - type: http
        url: http://127.0.0.1:9/internal
status_page:
  title: Insurance Navigator status
  services: [frontend, backend]
alerting:
  route:
    receiver: hook
    group_wait: 0s
    group_by: [alertname, service]
    escalation_policy: page-team
  receivers:
    - name: hook
      webhook_configs: [{{url: "http://127.0.0.1:9/hook"}}]
    - name: alice
      webhook_configs: [{{url: "http://127.0.0.1:9/alice"}}]
    - name: bob
      webhook_configs: [{{url: "http://127.0.0.1:9/bob"}}]
  escalation_policies:
    - name: page-team
      levels:
        - {{receivers: [primary], after: 10m}}
        - {{receivers: [bob], after: 20m}}
  oncall_rotations:
    - name: primary
      members: [alice, bob]
      handoff: daily
      start: 2024-01-01T09:00:00Z
"""

ROLES = ("viewer", "operator", "admin")


def make_full_runtime(tmp_path: Path, options: RuntimeOptions | None = None) -> Runtime:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    text = FULL_CONFIG.format(data=tmp_path / "data", rules=rules)
    return Runtime(load_config_text(text, base_dir=tmp_path), options)


def role_tokens(rt: Runtime) -> dict[str, str]:
    """One API token per role, created through the token store."""
    out = {}
    with rt.db.begin() as conn:
        for role in ROLES:
            plaintext, _ = rt.security.tokens.create(
                conn, system_principal("tests"), f"{role} token", Role(role)
            )
            out[role] = plaintext
    return out


def firing_alert(name: str, service: str, severity: str = "critical", **labels: str) -> AlertInput:
    return AlertInput(
        labels=Labels({"alertname": name, "service": service, "severity": severity, **labels}),
        annotations={"summary": f"{name} on {service}", "description": "internal detail"},
        starts_at=0.0,
    )


# --- a started runtime with a client per role, for the page tests ---------------------


@dataclass
class Stack:
    rt: Runtime
    clients: dict[str, httpx.AsyncClient]

    def __getitem__(self, role: str) -> httpx.AsyncClient:
        return self.clients[role]

    async def fire(self, name: str, service: str, **labels: str) -> str:
        await self.rt.alerts.put([firing_alert(name, service, **labels)])
        view = next(v for v in self.rt.alerts.views.alerts() if v.alert.name == name)
        return view.alert.fingerprint


async def eventually(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds:.0f} s")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    rt = make_full_runtime(tmp_path_factory.mktemp("pages"))
    await rt.start()
    tokens = role_tokens(rt)
    app = create_app(rt)
    transport = httpx.ASGITransport(app=app)
    clients = {
        role: httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {tokens[role]}"},
        )
        for role in ROLES
    }
    clients["anonymous"] = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    try:
        yield Stack(rt, clients)
    finally:
        for client in clients.values():
            await client.aclose()
        await rt.stop()


def flash(page: httpx.Response) -> list[str]:
    return re.findall(r'<div class="flash (?:ok|error)"[^>]*>([^<]*)', page.text)
