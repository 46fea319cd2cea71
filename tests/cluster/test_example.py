"""``examples/cluster.yaml``, the config of the README's "Running more than one instance",
as the README uses it: it validates with its environment variables set, and two
``watchkeeper serve`` processes started from exactly that file (only the environment
differs) form a cluster with one leader, read with an API token made by
``watchkeeper token create`` as the README shows."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import require_postgres
from watchkeeper.config.loader import load_config
from watchkeeper.core.errors import ConfigError
from watchkeeper.testing.cluster import SERVE, local_cluster
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.webhook_sink import WebhookSink

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"
FORM_TIMEOUT = 45.0


def example_env(dsn: str, app_url: str, hook_url: str) -> dict[str, str]:
    return {
        "WATCHKEEPER_STATE_DSN": dsn,
        "APP_URL": app_url,
        "ALERT_WEBHOOK_URL": hook_url,
    }


async def healthy(scope: Any, receive: Any, send: Any) -> None:
    """The checked app: always up."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def app() -> Iterator[FakeServer]:
    with FakeServer(healthy) as server:
        yield server


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as s:
        yield s


def test_the_example_validates_with_its_environment(tmp_path: Path) -> None:
    env = {
        **example_env(
            "postgresql://wk@db.internal:5432/wk", "https://app.example", "https://h.example/a"
        ),
        "WATCHKEEPER_PORT": "9102",
        "WATCHKEEPER_DATA": str(tmp_path / "wk2"),
    }
    config = load_config(EXAMPLE, env=env).config
    assert config.state.backend == "postgres"
    assert config.state.dsn is not None
    assert config.state.dsn.reveal() == "postgresql://wk@db.internal:5432/wk"
    assert config.server.listen == "127.0.0.1:9102"
    assert config.storage.path == str(tmp_path / "wk2")
    assert config.cluster.settings() == {
        "heartbeat_interval_seconds": 1.0,
        "member_timeout_seconds": 6.0,
        "session_timeout_seconds": 10.0,
        "replicate_samples": True,
    }
    defaults = load_config(EXAMPLE, env=example_env("postgresql://x/y", "https://a", "https://b"))
    assert defaults.config.server.listen == "127.0.0.1:9100"
    assert defaults.config.storage.path == "./data"
    with pytest.raises(ConfigError, match="WATCHKEEPER_STATE_DSN"):
        load_config(EXAMPLE, env={"APP_URL": "https://a", "ALERT_WEBHOOK_URL": "https://b"})


def test_two_instances_from_the_example_form_a_cluster(
    tmp_path: Path, pg_database: str, app: FakeServer, sink: WebhookSink
) -> None:
    require_postgres()
    env = example_env(pg_database, app.url + "/health", sink.url_for("alerts"))
    # the README's step: a token that may read the cluster, kept in the shared database
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVE,
            "token",
            "create",
            "cluster-check",
            "--role",
            "viewer",
            "--scope",
            "cluster:read",
            "--config",
            str(EXAMPLE),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[0]
    with local_cluster(
        tmp_path,
        EXAMPLE,
        dsn=pg_database,
        env=env,
        port_env="WATCHKEEPER_PORT",
        data_env="WATCHKEEPER_DATA",
        headers={"Authorization": f"Bearer {token}"},
    ) as cl:
        first, second = cl.start(), cl.start()
        leader = cl.wait_formed(timeout=FORM_TIMEOUT)
        views = cl.views()
        ready = {inst.name: inst.get("/readyz") for inst in (first, second)}
    assert leader in (first, second)
    assert sorted(v["role"] for v in views.values()) == ["follower", "leader"]
    assert {v["leader"]["id"] for v in views.values()} == {views[leader.name]["self"]}
    for inst in (first, second):
        assert ready[inst.name]["status"] == "ok", ready
        assert ready[inst.name]["cluster"]["leader"] == views[leader.name]["self"]
        assert any(inst.data.iterdir()), f"{inst.name} wrote nothing to its WATCHKEEPER_DATA"
