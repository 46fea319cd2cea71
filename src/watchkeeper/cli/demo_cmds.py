"""``demo``: the simulated Insurance Navigator stack, monitored, with live incidents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from watchkeeper.cli.serve_cmds import setup_logging
from watchkeeper.demo.config import demo_config
from watchkeeper.demo.runner import default_postgres_dsn, run_demo


@click.command("demo")
@click.option("--port", type=int, default=8080, show_default=True, help="dashboard port")
@click.option(
    "--duration",
    type=float,
    default=None,
    help="seconds to run, then exit with a summary (default: until Ctrl-C)",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".watchkeeper-demo"),
    show_default=True,
    help="where the demo keeps its config and data (wiped at each start)",
)
@click.option(
    "--postgres/--no-postgres",
    "with_postgres",
    default=True,
    help="also watch the local PostgreSQL (127.0.0.1:5432) when it answers",
)
@click.option("--print-config", is_flag=True, help="print the config the demo runs with")
@click.option("-v", "--verbose", is_flag=True)
def demo(
    port: int,
    duration: float | None,
    data_dir: Path,
    with_postgres: bool,
    print_config: bool,
    verbose: bool,
) -> None:
    """Run a simulated Insurance Navigator stack, monitored, with incidents that fire
    real alerts; the dashboard is at http://127.0.0.1:PORT."""
    if not 1 <= port <= 65535 - 8:
        raise click.BadParameter("the demo needs PORT..PORT+7 free", param_hint="--port")
    data_dir = data_dir.resolve()
    dsn = default_postgres_dsn() if with_postgres else None
    if print_config:
        click.echo(demo_config(port, data_dir, postgres_dsn=dsn), nl=False)
        return
    setup_logging(verbose)
    summary = asyncio.run(run_demo(port, data_dir, duration=duration, postgres_dsn=dsn))
    click.echo("\n".join(summary.lines()))


commands = [demo]
