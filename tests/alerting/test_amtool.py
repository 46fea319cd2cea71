"""The real ``amtool`` (from Debian's prometheus-alertmanager) against Watchkeeper's
Alertmanager API on loopback, authenticated with a bearer token."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conftest import require
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import SystemClock
from watchkeeper.security.audit import AuditLog
from watchkeeper.state.db import Database
from watchkeeper.testing import tools

from .support import OPERATOR_TOKEN, RecordingOutbox, build_app, serve

pytestmark = pytest.mark.amtool

CONFIG = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    routes:
      - matchers: ['service=~"db|cache"', 'severity!="info"']
        receiver: dba
        continue: true
      - match: {severity: critical}
        receiver: pager
        routes:
          - match_re: {team: "front.*"}
            receiver: web
  receivers:
    - name: ops
    - name: dba
    - name: pager
    - name: web
"""


def amtool() -> str:
    path = tools.amtool_path()
    require(path is not None, "amtool", "install Debian's prometheus-alertmanager package")
    assert path is not None
    return path


class Amtool:
    def __init__(self, binary: str, url: str, home: Path) -> None:
        self.binary = binary
        self.url = url
        self.home = home
        self.http_config = home / "http.yml"
        self.http_config.write_text(
            f"authorization:\n  type: Bearer\n  credentials: {OPERATOR_TOKEN}\n"
        )

    async def run(self, *args: str, check: bool = True) -> str:
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            f"--alertmanager.url={self.url}/alertmanager",
            f"--http.config.file={self.http_config}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "HOME": str(self.home)},
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        if check and proc.returncode != 0:
            raise AssertionError(f"amtool {' '.join(args)} failed: {err.decode()}")
        return out.decode() + (err.decode() if not check else "")


@pytest.fixture
async def am(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Amtool, AlertManager]]:
    binary = amtool()
    manager = AlertManager.from_config(
        load_config_text(CONFIG).config,
        db=db,
        outbox=RecordingOutbox(),
        clock=SystemClock(),
        audit=AuditLog(SystemClock()),
    )
    await manager.start()
    try:
        async with serve(build_app(manager)) as url:
            yield Amtool(binary, url, tmp_path), manager
    finally:
        await manager.stop()


async def test_amtool_adds_and_queries_alerts(am: tuple[Amtool, AlertManager]) -> None:
    tool, manager = am
    await tool.run(
        "alert",
        "add",
        "DiskFull",
        "service=db",
        "severity=warning",
        "--annotation=summary=disk almost full",
    )
    await tool.run("alert", "add", "alertname=CacheDown", "service=cache")
    out = json.loads(await tool.run("alert", "query", "-o", "json"))
    assert sorted(a["labels"]["alertname"] for a in out) == ["CacheDown", "DiskFull"]
    disk = next(a for a in out if a["labels"]["alertname"] == "DiskFull")
    assert disk["annotations"] == {"summary": "disk almost full"}
    simple = await tool.run("alert", "query", "service=db")
    assert "DiskFull" in simple
    assert "CacheDown" not in simple
    assert len(manager.store) == 2


async def test_amtool_adds_queries_and_expires_silences(am: tuple[Amtool, AlertManager]) -> None:
    tool, manager = am
    await tool.run("alert", "add", "DiskFull", "service=db")
    sid = (
        await tool.run(
            "silence",
            "add",
            "alertname=DiskFull",
            "service=~db|cache",
            "--comment=disk swap",
            "--author=alice",
            "--duration=2h",
        )
    ).strip()
    silence = manager.silences.get(sid)
    assert silence.created_by == "alice"
    assert silence.comment == "disk swap"
    listed = await tool.run("silence", "query")
    assert sid in listed
    assert "disk swap" in listed
    quiet = json.loads(await tool.run("silence", "query", "-o", "json", "alertname=DiskFull"))
    assert [s["id"] for s in quiet] == [sid]
    silenced = json.loads(await tool.run("alert", "query", "--silenced", "-o", "json"))
    assert [a["status"]["silencedBy"] for a in silenced] == [[sid]]
    await tool.run("silence", "expire", sid)
    assert sid not in await tool.run("silence", "query")
    assert manager.silences.get(sid).state(manager.clock.now()).value == "expired"


async def test_what_amtool_changes_is_audited_under_the_token_and_address(
    am: tuple[Amtool, AlertManager], db: Database
) -> None:
    tool, manager = am
    await tool.run("alert", "add", "DiskFull", "service=db")
    await tool.run("alert", "add", "alertname=CacheDown", "service=cache")
    sid = (
        await tool.run(
            "silence", "add", "alertname=DiskFull", "--comment=swap", "--author=a", "-d", "1h"
        )
    ).strip()
    await tool.run("silence", "expire", sid)
    audit = manager.audit
    assert audit is not None
    with db.connect() as conn:
        found = list(audit.iter_all(conn))
        assert audit.verify(conn).ok
    assert [(r.action, r.target) for r in found] == [
        ("alerts:create", "alerts"),
        ("alerts:create", "alerts"),
        ("silences:create", f"silence:{sid}"),
        ("silences:expire", f"silence:{sid}"),
    ]
    assert {(r.actor, r.actor_kind, r.remote_addr) for r in found} == {
        ("operator-test", "token", "127.0.0.1")
    }


async def test_amtool_refuses_a_silence_that_mutes_everything(
    am: tuple[Amtool, AlertManager],
) -> None:
    tool, manager = am
    out = await tool.run(
        "silence", "add", "alertname=~.+", "--comment=all", "--author=a", check=False
    )
    assert "matches every alert" in out
    assert manager.silences.all() == []


ROUTED = [
    ["service=db", "severity=warning"],
    ["service=db", "severity=critical", "team=frontend"],
    ["service=cache", "severity=info"],
    ["severity=critical"],
    ["severity=critical", "team=backend"],
    ["foo=bar"],
]


async def test_amtool_config_routes_test_agrees_with_watchkeeper(
    am: tuple[Amtool, AlertManager],
) -> None:
    from watchkeeper.alerting.routing import receivers_for

    tool, manager = am
    for labels in ROUTED:
        theirs = (await tool.run("config", "routes", "test", *labels)).strip()
        pairs = dict(item.split("=", 1) for item in labels)
        assert theirs == ",".join(receivers_for(manager.routes, pairs)), labels


def watchkeeper(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from watchkeeper.cli.main import _register, cli

    _register()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


async def test_watchkeeper_routes_test_prints_what_amtool_prints(
    am: tuple[Amtool, AlertManager], tmp_path: Path
) -> None:
    tool, _ = am
    config = tmp_path / "watchkeeper.yaml"
    config.write_text(CONFIG)
    code, exported = watchkeeper("routes", "export", "--config", str(config))
    assert code == 0
    am_file = tmp_path / "alertmanager.yml"
    am_file.write_text(exported)
    for labels in ROUTED:
        local = await tool.run("config", "routes", "test", f"--config.file={am_file}", *labels)
        remote = await tool.run("config", "routes", "test", *labels)
        code, ours = watchkeeper("routes", "test", "--config", str(config), *labels)
        assert code == 0
        assert ours == local == remote, labels
        tree = await tool.run("config", "routes", "test", "--tree", *labels)
        _, our_tree = watchkeeper("routes", "test", "--tree", "--config", str(config), *labels)
        assert our_tree == tree, labels
    code, out = watchkeeper(
        "routes", "test", "--config", str(config), "--verify.receivers=ops", "service=db"
    )
    assert code == 1
    assert "WARNING: Expected receivers did not match resolved receivers." in out


async def test_routes_show_prints_amtools_routing_tree(
    am: tuple[Amtool, AlertManager], tmp_path: Path
) -> None:
    tool, _ = am
    config = tmp_path / "watchkeeper.yaml"
    config.write_text(CONFIG)
    code, ours = watchkeeper("routes", "show", "--config", str(config))
    assert code == 0
    assert ours == await tool.run("config", "routes")


async def test_the_exported_config_passes_amtool_check_config(
    am: tuple[Amtool, AlertManager], tmp_path: Path
) -> None:
    tool, _ = am
    config = tmp_path / "watchkeeper.yaml"
    config.write_text(CONFIG + EXTRAS)
    _, exported = watchkeeper("routes", "export", "--config", str(config))
    am_file = tmp_path / "alertmanager.yml"
    am_file.write_text(exported)
    out = await tool.run("check-config", str(am_file))
    assert "SUCCESS" in out


EXTRAS = """
  time_intervals:
    - name: offhours
      time_intervals:
        - times: [{start_time: '17:00', end_time: '24:00'}]
          weekdays: ['monday:friday']
          days_of_month: ['1:5', '-3:-1']
          months: ['january:march', '12']
          years: ['2020:2030']
          location: Europe/Berlin
  inhibit_rules:
    - source_match: {severity: critical}
      target_match_re: {severity: "warning|info"}
      equal: [service]
  escalation_policies:
    - name: standard
      levels:
        - receivers: [ops]
  oncall_rotations:
    - name: primary
      members: [dba, web]
      start: 2026-01-05T09:00:00
"""
