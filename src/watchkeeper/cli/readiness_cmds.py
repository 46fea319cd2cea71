"""``validate``: production readiness with live evidence, for people and for CI; and
``test rules``: rule unit tests in the ``promtool test rules`` format on Watchkeeper's own
engine.

Exit codes of ``validate``: 0 nothing failed, 1 a check failed or could not run (a
warning too with ``--fail-on warn``), 2 the validator could not run (bad config).
``test rules``: 0 every test passed, 1 a test failed, 2 a file could not be read.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watchkeeper.cli.options import config_option
from watchkeeper.readiness.model import Category, FailOn
from watchkeeper.readiness.report import ReportFormat

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from watchkeeper.config.loader import LoadedConfig
    from watchkeeper.readiness.check import Check, RunOptions
    from watchkeeper.readiness.model import CheckResult, Report

# The readiness stack (collectors, engine, rule evaluator) is imported when a command
# runs, not when the CLI starts.


def _categories(value: str | None) -> frozenset[Category]:
    if not value:
        return frozenset()
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    known = {c.value: c for c in Category}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"use {', '.join(known)}",
            param_hint="--only",
        )
    return frozenset(known[n] for n in names)


class _Shown:
    """Rich progress on stderr: a bar over the checks and the ones running now."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.running: list[str] = []
        self.task = progress.add_task("checks", total=total, running="")

    def started(self, check: Check) -> None:
        self.running.append(check.check_id)
        self.progress.update(self.task, running=", ".join(self.running[-3:]))

    def finished(self, result: CheckResult) -> None:
        if result.id in self.running:
            self.running.remove(result.id)
        self.progress.update(self.task, advance=1, running=", ".join(self.running[-3:]))


async def _run(loaded: LoadedConfig, options: RunOptions, err: Console) -> Report:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
    )

    from watchkeeper.core.clock import SystemClock
    from watchkeeper.readiness.runner import select_checks, validate

    total = len(select_checks(loaded, options))
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]validating[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[running]}", style="dim"),
        console=err,
        transient=True,
    ) as progress:
        return await validate(
            loaded, options, clock=SystemClock(), progress=_Shown(progress, total)
        )


def _store(loaded: LoadedConfig, report: Report, err: Console) -> None:
    from watchkeeper.core.errors import WatchkeeperError
    from watchkeeper.readiness.store import ReadinessStore, Trigger
    from watchkeeper.security.setup import open_state_database

    try:
        db = open_state_database(loaded)
    except WatchkeeperError as exc:
        err.print(f"[yellow]warning:[/yellow] the report was not stored: {exc}")
        return
    try:
        run_id = ReadinessStore(db).save(report, Trigger.CLI)
        err.print(f"[dim]stored as readiness run {run_id}[/dim]")
    except WatchkeeperError as exc:
        err.print(f"[yellow]warning:[/yellow] the report was not stored: {exc}")
    finally:
        db.dispose()


@click.command("validate")
@config_option()
@click.option("--only", default=None, help="comma-separated categories, e.g. alerting,backups")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ReportFormat]),
    default=ReportFormat.TABLE.value,
    show_default=True,
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the report here"
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="performance baseline file (recorded when missing)",
)
@click.option("--update-baseline", is_flag=True, help="record this run's figures as baseline")
@click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.FAIL.value,
    show_default=True,
    help="which status makes the exit code 1",
)
@click.option("--send-test-alerts", is_flag=True, help="send a test notification to receivers")
@click.option("--rollback-drill", is_flag=True, help="roll the staging targets back and forward")
@click.option("--url", default=None, help="a running Watchkeeper (default: server.listen)")
@click.option("--details", is_flag=True, help="show every item a check looked at")
@click.option("--no-store", is_flag=True, help="do not store the report in the state database")
def validate_command(
    config_path: Path,
    only: str | None,
    fmt: str,
    output: Path | None,
    baseline: Path | None,
    update_baseline: bool,
    fail_on: str,
    send_test_alerts: bool,
    rollback_drill: bool,
    url: str | None,
    details: bool,
    no_store: bool,
) -> None:
    """Check, with live evidence, that the stack in the config is ready for production."""
    from rich.console import Console

    from watchkeeper.config.loader import load_config
    from watchkeeper.readiness.check import RunOptions
    from watchkeeper.readiness.report import render
    from watchkeeper.readiness.report.table import print_report

    options = RunOptions(
        only=_categories(only),
        send_test_alerts=send_test_alerts,
        rollback_drill=rollback_drill,
        baseline=baseline,
        update_baseline=update_baseline,
        fail_on=FailOn(fail_on),
        instance_url=url,
    )
    loaded = load_config(config_path)
    err = Console(stderr=True)
    report = asyncio.run(_run(loaded, options, err))
    if not no_store:
        _store(loaded, report, err)
    chosen = ReportFormat(fmt)
    if output is not None:
        output.write_text(render(report, chosen, fail_on=options.fail_on), encoding="utf-8")
    if chosen is ReportFormat.TABLE or output is not None:
        print_report(report, Console(), details=details)
        if output is not None:
            click.echo(f"{chosen.value} report written to {output}")
    else:
        click.echo(render(report, chosen, fail_on=options.fail_on), nl=False)
    sys.exit(report.exit_code(options.fail_on))


@click.group("test")
def test_group() -> None:
    """Unit tests of configuration."""


@test_group.command("rules")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def test_rules(files: tuple[Path, ...]) -> None:
    """Run rule unit tests (the promtool test rules format) on Watchkeeper's engine."""
    from watchkeeper.readiness.ruletests.runner import Verdict, run_test_files

    results = asyncio.run(run_test_files(files))
    for r in results:
        click.echo(f"Unit Testing:  {r.path}")
        if r.verdict is Verdict.SUCCESS:
            click.echo("  SUCCESS\n")
            continue
        click.echo("  FAILED:")
        for line in (r.error or "").splitlines() if r.error else []:
            click.echo(f"    {line}")
        for failure in r.failures:
            click.echo("    " + failure.replace("\n", "\n    "))
        click.echo("")
    if any(r.verdict is Verdict.ERROR for r in results):
        sys.exit(2)
    if any(r.verdict is Verdict.FAILED for r in results):
        sys.exit(1)


commands = [validate_command, test_group]
