"""``watchkeeper report`` against a Watchkeeper served on a loopback port: the uptime
report as CSV and print-ready HTML, the digest and the alert quality as text; a missing
token, an unknown service and an unreachable instance end as clear messages (exit 2)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from watchkeeper.cli.main import _register, cli
from watchkeeper.config.loader import load_config
from watchkeeper.core.labels import Labels
from watchkeeper.runtime.app import Runtime
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from web.served import ServedApp, free_port

from .support import alert, episode

pytestmark = pytest.mark.slow

CONFIG = """
server: {{listen: "127.0.0.1:{port}"}}
storage: {{path: {data}}}
security: {{argon2: {{time_cost: 1, memory_cost: 64, parallelism: 1}}}}
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


@dataclass
class Served:
    config: Path
    token: str
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("report-cli")
    port = free_port()
    path = tmp / "watchkeeper.yaml"
    path.write_text(CONFIG.format(port=port, data=tmp / "data"), encoding="utf-8")
    tokens: list[str] = []

    def build() -> Runtime:
        rt = Runtime(load_config(path))
        with rt.db.begin() as conn:
            token, _ = rt.security.tokens.create(
                conn, system_principal("tests"), "reports", Role.VIEWER
            )
        tokens.append(token)
        now = rt.clock.now()
        episode(rt.history, alert("HighErrors"), now - 1800, now - 1500)
        labels = Labels.of(__name__="probe_success", service="backend", check="health")
        rt.store.append([(labels, int((now - 3600 + i * 60) * 1000), 1.0) for i in range(59)])
        return rt

    with ServedApp(build, port):
        yield Served(path, tokens[0], f"http://127.0.0.1:{port}")


def run(*args: str) -> tuple[int, str]:
    _register()
    result = CliRunner().invoke(cli, ["report", *args])
    return result.exit_code, result.output


def test_uptime_report_as_csv_from_the_running_instance(served: Served) -> None:
    code, out = run(
        "uptime",
        "-c",
        str(served.config),
        "--service",
        "backend",
        "--period",
        "1h",
        "--token",
        served.token,
    )
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "service,day,availability_percent,downtime_seconds,incidents,source"
    assert lines[-1].startswith("backend,total,100,0,1,probe_success")


def test_uptime_report_as_print_ready_html_to_a_file(served: Served, tmp_path: Path) -> None:
    target = tmp_path / "uptime.html"
    code, out = run(
        "uptime",
        "-c",
        str(served.config),
        "--service",
        "backend",
        "--format",
        "html",
        "--token",
        served.token,
        "-o",
        str(target),
    )
    assert code == 0, out
    html = target.read_text(encoding="utf-8")
    assert "Uptime report: backend" in html
    assert "report.css" in html


def test_digest_and_quality_as_text(served: Served) -> None:
    code, out = run("digest", "-c", str(served.config), "--kind", "weekly", "--token", served.token)
    assert code == 0, out
    assert "alerts: 1 incident(s)" in out
    assert "readiness: no readiness run yet" in out
    code, out = run("quality", "-c", str(served.config), "--token", served.token)
    assert code == 0, out
    assert out.splitlines()[1].startswith("HighErrors")


def test_mistakes_end_as_messages_not_tracebacks(served: Served) -> None:
    code, out = run("digest", "-c", str(served.config), "--token", "")
    assert code == 2
    assert "pass a token with reports:read" in out
    code, out = run(
        "uptime", "-c", str(served.config), "--service", "nope", "--token", served.token
    )
    assert code == 2
    assert "no service named 'nope'" in out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    code, out = run(
        "quality",
        "-c",
        str(served.config),
        "--url",
        f"http://127.0.0.1:{closed}",
        "--token",
        served.token,
    )
    assert code == 2
    assert "cannot reach Watchkeeper" in out
    assert "Traceback" not in out
