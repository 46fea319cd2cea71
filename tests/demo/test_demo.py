"""The demo end to end: the simulated stack, an injected incident, a real alert that fires
and resolves, notifications at the webhook sink, the dashboard showing it all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from watchkeeper.cli.main import _register, cli
from watchkeeper.config.loader import load_config_text
from watchkeeper.demo.config import DemoPorts, demo_config
from watchkeeper.demo.runner import DemoSchedule, run_demo
from watchkeeper.demo.stack import DemoStack
from watchkeeper.testing.server import free_port_block

ALERT = "BackendErrorRateHigh"


def test_print_config_is_the_valid_config_of_a_demo_on_that_port(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(
        cli,
        ["demo", "--port", "9100", "--data-dir", str(tmp_path), "--no-postgres", "--print-config"],
    )
    assert result.exit_code == 0, result.output
    assert result.output == demo_config(9100, tmp_path.resolve())
    cfg = load_config_text(result.output).config
    assert cfg.server.port == 9100
    urls = [c.url for s in cfg.services for c in s.checks if hasattr(c, "url")]
    ports = DemoPorts(9100)
    assert f"http://127.0.0.1:{ports.frontend}/" in urls
    assert f"http://127.0.0.1:{ports.backend}/metrics" in urls
    assert [s.name for s in cfg.services] == ["frontend", "backend", "database", "ci"]


def test_print_config_watches_postgres_when_given_a_dsn(tmp_path: Path) -> None:
    text = demo_config(9100, tmp_path, postgres_dsn="postgresql://postgres@127.0.0.1:5432/x")
    kinds = {c.type for s in load_config_text(text).config.services for c in s.checks}
    assert "postgres" in kinds


@pytest.mark.slow
async def test_demo_fires_and_resolves_an_alert_and_delivers_its_notifications(
    tmp_path: Path,
) -> None:
    port = free_port_block(8)
    pages: list[str] = []

    async def look_at_dashboard() -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                await asyncio.sleep(0.25)
                try:
                    r = await client.get(f"http://127.0.0.1:{port}/")
                except httpx.HTTPError:
                    continue
                if r.status_code == 200 and ALERT in r.text:
                    pages.append(r.text)
                    return

    def fired_and_resolved(stack: DemoStack) -> bool:
        statuses = {
            d.status
            for d in stack.sink.deliveries()
            if any(a["labels"].get("alertname") == ALERT for a in d.alerts)
        }
        return {"firing", "resolved"} <= statuses

    watcher = asyncio.create_task(look_at_dashboard())
    summary = await run_demo(
        port,
        tmp_path / "demo",
        duration=150,  # an upper bound: it stops as soon as both notifications arrived
        postgres_dsn=None,
        schedule=DemoSchedule(first_after=3, only=("Burst of 5xx",), duration=12),
        announce=False,
        stop_when=fired_and_resolved,
    )
    watcher.cancel()
    assert summary.incidents == ["Burst of 5xx"]
    assert summary.checks_run > 20
    assert summary.samples_stored > 500
    assert summary.alerts_fired >= 1
    assert summary.alerts_resolved >= 1
    assert summary.notifications_delivered >= 2
    assert pages, "the overview never showed the firing alert"
    assert 'data-service="backend"' in pages[0]
    assert "Webhook sink" in pages[0]
