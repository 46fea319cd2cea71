"""``watchkeeper``: the command-line entry point.

Commands live in one module per area and are added here explicitly. User mistakes end as
a clear message and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
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


# The explicit table of commands: name -> "module:attribute". A command's module is
# imported only when that command runs, so `watchkeeper version` does not load the whole
# system. Adding a command = one module + one line here.
COMMANDS: dict[str, str] = {
    "anomaly": "watchkeeper.cli.anomaly_cmds:anomaly_group",
    "audit": "watchkeeper.cli.security_cmds:audit_group",
    "check-config": "watchkeeper.cli.config_cmds:check_config",
    "config": "watchkeeper.cli.config_cmds:config_group",
    "demo": "watchkeeper.cli.demo_cmds:demo",
    "init": "watchkeeper.cli.config_cmds:init",
    "notify": "watchkeeper.cli.notify_cmds:notify_group",
    "promql-test": "watchkeeper.cli.promql_cmds:promql_test",
    "report": "watchkeeper.cli.report_cmds:report_group",
    "routes": "watchkeeper.cli.alerting_cmds:routes_group",
    "secrets": "watchkeeper.cli.security_cmds:secrets_group",
    "serve": "watchkeeper.cli.serve_cmds:serve",
    "slo": "watchkeeper.cli.slo_cmds:slo_group",
    "test": "watchkeeper.cli.readiness_cmds:test_group",
    "token": "watchkeeper.cli.security_cmds:token_group",
    "tsdb": "watchkeeper.cli.tsdb_cmds:tsdb_group",
    "user": "watchkeeper.cli.security_cmds:user_group",
    "validate": "watchkeeper.cli.readiness_cmds:validate_command",
}


class _LazyGroup(_Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = _load(cmd_name)
            self.add_command(command, cmd_name)
        return command


def _load(name: str) -> click.Command:
    module_name, attr = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{COMMANDS[name]} is not a click command")
    return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Watchkeeper: monitoring, alerting and production-readiness validation."""


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"watchkeeper {__version__}")


def _register() -> None:
    """Import every command now (tests and completion scripts use it)."""
    for name in COMMANDS:
        if name not in cli.commands:
            cli.add_command(_load(name), name)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="watchkeeper")
