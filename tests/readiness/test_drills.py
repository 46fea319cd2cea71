"""The drills: a backup restored into a scratch database on the real PostgreSQL, and a
rollback and roll-forward through the Vercel and Render fakes with health in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.checks.backups_restore import RestoreDrill
from watchkeeper.readiness.checks.deploy_drill import RollbackDrill
from watchkeeper.readiness.model import Status
from watchkeeper.readiness.pgdrill import DrillResult, TableFigures
from watchkeeper.testing import tools
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.vercel import FakeVercel

from .apps import AppState, service_app
from .support import one, render_check, vercel_check, write_config


def _fill(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, total numeric, note text)")
        conn.execute(
            "INSERT INTO orders (total, note) SELECT i * 1.5, 'order ' || i "
            "FROM generate_series(1, 500) AS i"
        )
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id int, amount float8, paid boolean)")
        conn.execute(
            "INSERT INTO billing.invoices "
            "SELECT i, i / 3.0, i % 2 = 0 FROM generate_series(1, 40) AS i"
        )


def _scratch_databases() -> list[str]:
    with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'wk_restore_drill_%'"
        ).fetchall()
    return [str(r[0]) for r in rows]


async def test_a_dump_restores_with_matching_counts_and_checksums(
    tmp_path: Path, pg_database: str
) -> None:
    _fill(pg_database)
    before = set(_scratch_databases())
    loaded = write_config(
        tmp_path,
        f"services:\n  - name: db\n    checks:\n      - {{type: postgres, dsn: '{pg_database}'}}\n",
    )
    result = await one(loaded, RestoreDrill)
    assert result.status is Status.PASS, result.evidence
    assert "2 tables, 540 rows: counts and checksums match" in result.evidence
    assert {d.subject for d in result.details} == {"public.orders", "billing.invoices"}
    assert result.data["scratch_dropped"] is True
    assert set(_scratch_databases()) == before


async def test_chosen_tables_only_are_drilled(tmp_path: Path, pg_database: str) -> None:
    _fill(pg_database)
    readiness = (
        f"  backups:\n    restore_drill: {{dsn: '{pg_database}', tables: [billing.invoices]}}\n"
    )
    result = await one(write_config(tmp_path, "services: []\n", readiness=readiness), RestoreDrill)
    assert result.status is Status.PASS, result.evidence
    assert [d.subject for d in result.details] == ["billing.invoices"]
    assert "40 rows" in result.details[0].evidence


async def test_a_missing_table_or_a_database_over_the_limit_fails(
    tmp_path: Path, pg_database: str
) -> None:
    _fill(pg_database)
    missing = f"  backups:\n    restore_drill: {{dsn: '{pg_database}', tables: [public.nope]}}\n"
    result = await one(write_config(tmp_path, "services: []\n", readiness=missing), RestoreDrill)
    assert result.status is Status.FAIL
    assert "tables not found: public.nope" in result.evidence
    small = f"  backups:\n    restore_drill: {{dsn: '{pg_database}', max_database_bytes: 1000}}\n"
    result = await one(write_config(tmp_path, "services: []\n", readiness=small), RestoreDrill)
    assert result.status is Status.FAIL
    assert "above the drill's limit" in result.evidence


async def test_an_unreachable_database_fails_and_no_database_skips(tmp_path: Path) -> None:
    bad = "  backups:\n    restore_drill: {dsn: 'postgresql://postgres@127.0.0.1:9/none'}\n"
    result = await one(write_config(tmp_path, "services: []\n", readiness=bad), RestoreDrill)
    assert result.status is Status.FAIL
    assert "cannot connect to 127.0.0.1:9/none" in result.evidence
    nothing = await one(write_config(tmp_path, "services: []\n"), RestoreDrill)
    assert nothing.status is Status.SKIP


def test_mismatching_counts_or_contents_are_named() -> None:
    result = DrillResult("db", 1)
    result.source = {
        "public.a": TableFigures(3, "x"),
        "public.b": TableFigures(2, "y"),
        "public.c": TableFigures(1, "z"),
    }
    result.restored = {"public.a": TableFigures(2, "x"), "public.b": TableFigures(2, "w")}
    assert result.mismatches() == [
        "public.a: 2 rows restored, 3 in the source",
        "public.b: 2 rows, but the contents differ (checksum)",
        "public.c: missing after the restore",
    ]


@pytest.fixture
def health() -> Iterator[tuple[FakeServer, AppState]]:
    state = AppState()
    with FakeServer(service_app(state)) as server:
        yield server, state


def _staging(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
    health: FakeServer,
) -> LoadedConfig:
    body = (
        f"services:\n  - name: web\n    url: {health.url}/health\n    checks:\n"
        + vercel_check(vercel[1], vercel[0])
        + f"  - name: api\n    url: {health.url}/health\n    checks:\n"
        + render_check(render[1], render[0])
    )
    readiness = (
        "  deploy:\n    drill_timeout: 10s\n    rollback_drill:\n"
        "      - {service: web, check: vercel}\n      - {service: api, check: render}\n"
    )
    return write_config(tmp_path, body, readiness=readiness)


async def test_the_drill_is_skipped_unless_asked(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
    health: tuple[FakeServer, AppState],
) -> None:
    result = await one(_staging(tmp_path, vercel, render, health[0]), RollbackDrill)
    assert result.status is Status.SKIP
    assert "--rollback-drill" in result.remediation
    assert vercel[1].requests == []


async def test_rollback_and_roll_forward_with_health_in_between(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
    health: tuple[FakeServer, AppState],
) -> None:
    old_dpl = vercel[0].serving_id
    new_dpl = vercel[0].deploy(state="READY")
    old_dep = render[0].deploys[0]["id"]
    new_dep = render[0].deploy("live")
    loaded = _staging(tmp_path, vercel, render, health[0])
    result = await one(loaded, RollbackDrill, options=RunOptions(rollback_drill=True))
    assert result.status is Status.PASS, result.evidence
    web, api = result.details
    assert "roll back in" in web.evidence
    assert f"production serves {old_dpl}" in web.evidence
    assert f"production serves {new_dpl}" in web.evidence
    assert f"of {old_dep} is live" in api.evidence
    assert f"of {new_dep} is live" in api.evidence
    assert vercel[0].serving_id == new_dpl
    assert render[0].deploys[0]["status"] == "live"
    posts = [r.path for r in vercel[1].requests if r.method == "POST"]
    assert posts == [
        f"/v9/projects/{vercel[0].project_id}/rollback/{old_dpl}",
        f"/v10/projects/{vercel[0].project_id}/promote/{new_dpl}",
    ]
    assert set(result.data["steps_seconds"]) == {"web/vercel", "api/render"}


async def test_an_unhealthy_service_after_rollback_fails_the_drill(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
    health: tuple[FakeServer, AppState],
) -> None:
    vercel[0].deploy(state="READY")
    render[0].deploy("live")
    health[1].status = 503
    loaded = _staging(tmp_path, vercel, render, health[0])
    result = await one(loaded, RollbackDrill, options=RunOptions(rollback_drill=True))
    assert result.status is Status.FAIL
    assert f"health check {health[0].url}/health answered HTTP 503" in result.evidence


async def test_nothing_to_roll_back_to_fails_the_drill(
    tmp_path: Path,
    vercel: tuple[FakeVercel, FakeServer],
    render: tuple[FakeRender, FakeServer],
    health: tuple[FakeServer, AppState],
) -> None:
    loaded = _staging(tmp_path, vercel, render, health[0])
    result = await one(loaded, RollbackDrill, options=RunOptions(rollback_drill=True))
    assert result.status is Status.FAIL
    assert "web/vercel: no earlier READY production deployment" in result.evidence
    assert "api/render: no earlier deploy that was live" in result.evidence
