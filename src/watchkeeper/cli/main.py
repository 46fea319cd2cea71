"""``watchkeeper``: the command-line entry point.

Commands live in one module per area and are added here explicitly. User mistakes end as
a clear message and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from watchkeeper import __version__
from watchkeeper.core.errors import ConfigError, WatchkeeperError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"configuration error ({len(exc.problems)}):", err=True)
            for line in exc.problems:
                click.echo(f"  {line}", err=True)
            ctx.exit(2)
        except WatchkeeperError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        return None  # pragma: no cover


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Watchkeeper: monitoring, alerting and production-readiness validation."""


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"watchkeeper {__version__}")


def _register() -> None:
    # One line per area; each module exposes ``commands`` (a list of click commands).
    from watchkeeper.cli import (
        alerting_cmds,
        anomaly_cmds,
        config_cmds,
        demo_cmds,
        notify_cmds,
        promql_cmds,
        readiness_cmds,
        security_cmds,
        serve_cmds,
        slo_cmds,
        tsdb_cmds,
    )

    for module in (
        alerting_cmds,
        anomaly_cmds,
        config_cmds,
        demo_cmds,
        notify_cmds,
        promql_cmds,
        readiness_cmds,
        security_cmds,
        serve_cmds,
        slo_cmds,
        tsdb_cmds,
    ):
        for command in module.commands:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register()
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="watchkeeper")
