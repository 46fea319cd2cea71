"""A team's own checks from the config (HTTP assertions, SQL queries), and the runner:
categories, the skip list, timeouts on the clock, crashes, config problems with their
line, and measurements run alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import ConfigError
from watchkeeper.readiness.check import Check, CheckContext, RunOptions, passed
from watchkeeper.readiness.checks.custom import CustomCheck
from watchkeeper.readiness.model import Category, Status, Verdict
from watchkeeper.readiness.registry import check_ids
from watchkeeper.readiness.runner import select_checks
from watchkeeper.testing.server import FakeServer

from .apps import AppState, service_app
from .support import run_checks, write_config


@pytest.fixture
def app() -> Iterator[FakeServer]:
    with FakeServer(service_app(AppState())) as server:
        yield server


def custom(tmp_path: Path, entries: str) -> LoadedConfig:
    return write_config(tmp_path, "services: []\n", readiness=f"  custom:\n{entries}")


def customs(loaded: LoadedConfig) -> list[Check]:
    return [c for c in CustomCheck.instances(loaded.config)]


async def test_http_assertions_pass_and_fail_through_the_http_collector(
    tmp_path: Path, app: FakeServer
) -> None:
    loaded = custom(
        tmp_path,
        f"    - {{name: quote-api, title: Quotes answer, http: {{url: '{app.url}/health', "
        "json_path: {status: ok}}}\n"
        f"    - {{name: homepage, category: monitoring, remediation: redeploy the web app, "
        f"http: {{url: '{app.url}/', contains: [Welcome]}}}}\n",
    )
    report = await run_checks(loaded, *customs(loaded))
    ours = {r.id: r for r in report.results}
    assert ours["custom.quote-api"].status is Status.PASS
    assert ours["custom.quote-api"].title == "Quotes answer"
    assert "HTTP 200" in ours["custom.quote-api"].evidence
    home = ours["custom.homepage"]
    assert home.status is Status.FAIL
    assert home.category is Category.MONITORING
    assert "Welcome" in home.evidence
    assert home.remediation == "redeploy the web app"


async def test_sql_checks_compare_the_first_value_and_the_row_count(
    tmp_path: Path, pg_database: str
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int, state text)")
        conn.execute("INSERT INTO jobs VALUES (1, 'done'), (2, 'failed')")
    loaded = custom(
        tmp_path,
        f"    - {{name: no-failed-jobs, sql: {{dsn: '{pg_database}', "
        "query: \"SELECT count(*) FROM jobs WHERE state = 'failed'\", expect: 0}}\n"
        f"    - {{name: two-jobs, sql: {{dsn: '{pg_database}', "
        "query: 'SELECT id FROM jobs', expect_rows: 2}}\n"
        f"    - {{name: bad-sql, sql: {{dsn: '{pg_database}', "
        "query: 'SELECT nope', expect: 1}}\n",
    )
    report = await run_checks(loaded, *customs(loaded))
    by_id = {r.id: r for r in report.results}
    assert by_id["custom.no-failed-jobs"].status is Status.FAIL
    assert "got 1, expected 0" in by_id["custom.no-failed-jobs"].evidence
    assert by_id["custom.two-jobs"].status is Status.PASS
    assert by_id["custom.bad-sql"].status is Status.FAIL
    assert 'column "nope" does not exist' in by_id["custom.bad-sql"].evidence


def test_a_custom_check_needs_exactly_one_kind_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        custom(tmp_path, "    - {name: nothing}\n")
    assert "watchkeeper.yaml:" in err.value.problems[0]
    assert (
        "readiness.custom[0]: a custom check needs exactly one of http or sql"
        in (err.value.problems[0])
    )


def test_references_to_unknown_services_and_receivers_fail_at_their_line(tmp_path: Path) -> None:
    # The config loader checks them, so check-config, serve and validate all refuse them.
    with pytest.raises(ConfigError) as err:
        write_config(
            tmp_path,
            "services: []\n",
            readiness=(
                "  scaling: {production_services: [ghost]}\n  schedule: {receivers: [nobody]}\n"
            ),
        )
    text = "\n".join(err.value.problems)
    assert "readiness.scaling.production_services[0]: unknown service 'ghost'" in text
    assert "readiness.schedule.receivers[0]: unknown receiver 'nobody'; known: default" in text
    assert "watchkeeper.yaml:" in text


class Sleepy(Check):
    id: ClassVar[str] = "custom.sleepy"
    category: ClassVar[Category] = Category.CUSTOM
    title: ClassVar[str] = "Sleeps on the clock"
    timeout: ClassVar[float | None] = 30.0

    async def run(self, ctx: CheckContext) -> Verdict:
        await ctx.clock.sleep(3600)
        return passed("woke up")


class Broken(Check):
    id: ClassVar[str] = "custom.broken"
    category: ClassVar[Category] = Category.CUSTOM
    title: ClassVar[str] = "Raises"

    async def run(self, ctx: CheckContext) -> Verdict:
        raise RuntimeError("boom")


order: list[str] = []


class Quick(Check):
    id: ClassVar[str] = "custom.quick"
    category: ClassVar[Category] = Category.CUSTOM
    title: ClassVar[str] = "Quick"

    async def run(self, ctx: CheckContext) -> Verdict:
        order.append(self.id)
        await asyncio.sleep(0.05)
        order.append(self.id + ":end")
        return passed("quick")


class Alone(Quick):
    id: ClassVar[str] = "custom.alone"
    exclusive: ClassVar[bool] = True


async def test_a_check_past_its_timeout_on_the_clock_is_an_error(tmp_path: Path) -> None:
    clock = FakeClock()
    loaded = write_config(tmp_path, "services: []\n")
    task = asyncio.create_task(run_checks(loaded, Sleepy, clock=clock))
    await clock.advance(29)
    assert not task.done()
    await clock.advance(2)
    report = await task
    result = report.results[0]
    assert result.status is Status.ERROR
    assert result.evidence == "the check did not finish within 30s"
    assert "readiness.timeouts.custom.sleepy" in result.remediation


async def test_a_crashing_check_is_an_error_and_the_others_still_run(tmp_path: Path) -> None:
    report = await run_checks(write_config(tmp_path, "services: []\n"), Broken, Quick)
    broken, quick = report.results
    assert broken.status is Status.ERROR
    assert "the check crashed: RuntimeError: boom" in broken.evidence
    assert quick.status is Status.PASS
    assert report.exit_code() == 1


async def test_checks_listed_in_skip_are_skipped(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n", readiness="  skip: [custom.quick]\n")
    report = await run_checks(loaded, Quick)
    assert report.results[0].status is Status.SKIP
    assert report.results[0].evidence == "listed in readiness.skip"


async def test_exclusive_checks_run_alone_after_the_others(tmp_path: Path) -> None:
    order.clear()
    report = await run_checks(write_config(tmp_path, "services: []\n"), Alone, Quick)
    assert [r.id for r in report.results] == ["custom.alone", "custom.quick"]
    assert order == ["custom.quick", "custom.quick:end", "custom.alone", "custom.alone:end"]


def test_only_selects_categories_and_every_category_has_checks(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n")
    chosen = select_checks(loaded, RunOptions(only=frozenset({Category.BACKUPS})))
    assert {c.check_id for c in chosen} == {
        "backups.newest_backup",
        "backups.pitr",
        "backups.restore_drill",
    }
    every = {c.check_category for c in select_checks(loaded, RunOptions())}
    assert every == set(Category) - {Category.CUSTOM}
    ids = check_ids()
    assert len(ids) == len(set(ids))
    assert all(i.split(".")[0] in {c.value for c in Category} for i in ids)
