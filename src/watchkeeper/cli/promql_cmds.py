"""``promql-test``: run Prometheus PromQL test files against the engine."""

from __future__ import annotations

from pathlib import Path

import click

from watchkeeper.core.errors import ConfigError
from watchkeeper.promql.promqltest import find_test_files, run_file, totals


@click.command("promql-test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Also list every failing eval.")
@click.option(
    "--no-range-check",
    is_flag=True,
    help="Do not re-run instant evals as range queries.",
)
def promql_test(paths: tuple[Path, ...], verbose: bool, no_range_check: bool) -> None:
    """Run PromQL test files (files or folders of *.test) and report each file."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError([f"{p}: no such file or folder" for p in missing])
    files = find_test_files(paths)
    if not files:
        raise ConfigError([f"no *.test files in {', '.join(str(p) for p in paths)}"])
    reports = []
    for path in files:
        report = run_file(path, check_range_mode=not no_range_check)
        reports.append(report)
        click.echo(report.summary_line())
        if report.error:
            click.echo(f"  error: {report.error}")
        if verbose:
            for outcome in report.failures():
                click.echo(f"  line {outcome.line}: {outcome.expr}")
                click.echo(f"    {outcome.reason}")
    passed, failed, skipped = totals(reports)
    click.echo(f"{passed} passed, {failed} failed, {skipped} skipped")
    if failed:
        raise click.exceptions.Exit(1)


commands = [promql_test]
