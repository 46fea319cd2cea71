"""``validate`` against the demo stack (every platform fake, the webhook receivers, the
running Watchkeeper and the real PostgreSQL): every category is exercised through the real
code paths and no check errors. How long it takes is measured by
``bench/readiness_demo.py``, not asserted here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import require_postgres
from watchkeeper.config.loader import load_config
from watchkeeper.core.clock import SystemClock
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.model import Category, Status
from watchkeeper.readiness.runner import validate

from .demo_stack import DemoProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoProcess]:
    require_postgres()
    stack = DemoProcess(tmp_path / "demo")
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()


async def test_validate_on_the_demo_exercises_every_category(
    demo: DemoProcess, pg_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE quotes (id serial PRIMARY KEY, premium numeric, zip text)")
        conn.execute(
            "INSERT INTO quotes (premium, zip) "
            "SELECT 180 + i, '94107' FROM generate_series(1, 300) AS i"
        )
    config = tmp_path / "validate.yaml"
    config.write_text(
        demo.config.read_text(encoding="utf-8") + "\nreadiness:\n"
        f"  backups: {{restore_drill: {{dsn: '{pg_database}'}}}}\n"
        "  performance: {requests: 50, concurrency: 5}\n",
        encoding="utf-8",
    )
    report = await validate(
        load_config(config),
        RunOptions(send_test_alerts=True, baseline=tmp_path / "baseline.json"),
        clock=SystemClock(),
    )
    by_id = {r.id: r for r in report.results}
    assert [r.id for r in report.results if r.status is Status.ERROR] == []
    for category in set(Category) - {Category.CUSTOM}:
        ran = [r for r in report.results if r.category is category and r.status is not Status.SKIP]
        assert ran, f"no {category.value} check ran"
    assert by_id["monitoring.instance_answers"].status is Status.PASS
    assert by_id["monitoring.targets_up"].data["source"] == f"the running instance at {demo.url}"
    assert by_id["alerting.rules_cover_services"].status is Status.PASS
    assert by_id["alerting.routes_reach_receivers"].status is Status.PASS
    assert by_id["alerting.rule_tests"].status is Status.WARN  # the demo's rules.yml has none
    notified = by_id["alerting.test_notifications"]
    assert notified.status is Status.PASS, notified.evidence
    assert {f["receiver"] for f in notified.data["deliveries"]} == {
        "oncall",
        "developers",
        "seniors",
    }
    assert by_id["alerting.escalation"].status is Status.PASS
    assert by_id["backups.newest_backup"].status is Status.PASS
    drill = by_id["backups.restore_drill"]
    assert drill.status is Status.PASS, drill.evidence
    assert "1 tables, 300 rows: counts and checksums match" in drill.evidence
    assert by_id["scaling.render_autoscaling"].status is Status.PASS
    assert by_id["scaling.supabase_connections"].status is Status.PASS
    assert by_id["cicd.github_latest_run"].status in (Status.PASS, Status.FAIL)
    assert by_id["deploy.rollback_targets"].status is Status.PASS  # earlier deploys exist
    assert by_id["performance.baseline"].data["endpoints"]
    assert (tmp_path / "baseline.json").exists()
    assert by_id["security.secrets_encrypted"].status is Status.PASS  # the demo has a key
    assert by_id["security.default_credentials"].status is Status.WARN  # anonymous viewer
