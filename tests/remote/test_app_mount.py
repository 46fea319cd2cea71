"""The push routers as the real web app mounts them: deny by default holds, the OpenAPI
description lists them, and a push with a scoped token goes through the app's
authentication and security middleware into the runtime's store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from watchkeeper.config.loader import load_config_text
from watchkeeper.core.labels import Matcher
from watchkeeper.runtime.app import Runtime
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import system_principal
from watchkeeper.web.app import create_app, openapi_document
from watchkeeper.web.deps import route_guards, unguarded_routes

from .support import PB_HEADERS, body

CONFIG = """
storage: {{path: '{data}'}}
security: {{argon2: {{time_cost: 1, memory_cost: 64, parallelism: 1}}}}
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(load_config_text(CONFIG.format(data=tmp_path / "data"), base_dir=tmp_path))
    yield rt
    rt.store.close()
    rt.db.dispose()


async def test_mounted_push_routes_need_metrics_write_and_store_into_the_runtime(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    assert unguarded_routes(app, allow={"/static"}) == []
    guards = {
        g.path: g.permissions for g in route_guards(app) if "/write" in g.path or "import" in g.path
    }
    assert guards == {
        "/prometheus/api/v1/write": frozenset({Permission.METRICS_WRITE}),
        "/prometheus/api/v1/import/prometheus": frozenset({Permission.METRICS_WRITE}),
    }
    operations = {
        op["operationId"]
        for item in openapi_document(app)["paths"].values()
        for op in item.values()
    }
    assert {"prometheus_remote_write", "prometheus_import_text"} <= operations

    with runtime.db.begin() as conn:
        token, _ = runtime.security.tokens.create(
            conn,
            system_principal("cli:test"),
            "agent",
            Role.ADMIN,
            scopes=frozenset({Permission.METRICS_WRITE}),
        )
    t = int(runtime.clock.now() * 1000)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wk") as client:
        pushed = await client.post(
            "/prometheus/api/v1/write",
            content=body([({"__name__": "up", "job": "agent"}, [(t, 1.0)])]),
            headers={**PB_HEADERS, "Authorization": f"Bearer {token}"},
        )
        metrics = await client.get("/metrics")
    assert pushed.status_code == 204, pushed.text
    assert "x-content-type-options" in pushed.headers  # went through the app's middleware
    assert runtime.store.series([Matcher.equal("job", "agent")], 0, 2**62)
    assert 'watchkeeper_push_samples_appended_total{kind="remote_write"} 1.0' in metrics.text
