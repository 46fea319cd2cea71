"""A runtime built from a small config, and its app (not started: routes only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from watchkeeper.config.loader import load_config_text
from watchkeeper.runtime.app import Runtime
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
