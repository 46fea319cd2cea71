"""``routes test`` and ``routes show``: which receivers an alert reaches, answered exactly
as ``amtool config routes test`` answers for the same configuration. ``--config`` takes a
Watchkeeper config or a plain ``alertmanager.yml``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from pydantic import ValidationError

from watchkeeper.alerting.amexport import alertmanager_yaml
from watchkeeper.alerting.config import AlertingConfig, semantic_problems
from watchkeeper.alerting.matchers import MatcherError, parse_matchers
from watchkeeper.alerting.routing import Route, receivers_for, render_tree
from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import format_validation_errors, load_config
from watchkeeper.config.yamlsource import load_yaml_file, problem
from watchkeeper.core.errors import ConfigError, UserInputError
from watchkeeper.core.labels import MatchOp


def load_alerting(path: Path) -> AlertingConfig:
    """The alerting section of a Watchkeeper config, or a whole Alertmanager file."""
    data, smap = load_yaml_file(path)
    if isinstance(data, dict) and "route" in data and "alerting" not in data:
        try:
            config = AlertingConfig.model_validate(data, context={"base_dir": str(path.parent)})
        except ValidationError as exc:
            raise ConfigError(format_validation_errors(exc, data, smap)) from None
        problems = [problem(smap.find(p), p, m) for p, m in semantic_problems(config)]
        if problems:
            raise ConfigError(problems)
        return config
    return load_config(path).config.alerting


def parse_labels(args: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for arg in args:
        try:
            matchers = parse_matchers(arg)
        except MatcherError:
            matchers = []
        if not matchers or any(m.op is not MatchOp.EQUAL for m in matchers):
            raise UserInputError(
                f"labels must be specified as key=value pairs (got {arg!r}), "
                "e.g. service=db severity=critical"
            )
        labels.update({m.name: m.value for m in matchers})
    return labels


@click.group("routes")
def routes_group() -> None:
    """Inspect the alert routing tree."""


_CONFIG = config_option("a Watchkeeper config or an alertmanager.yml")


@routes_group.command("test")
@_CONFIG
@click.option("--tree", is_flag=True, help="also print the matching routes as a tree")
@click.option(
    "--verify.receivers",
    "verify",
    default=None,
    help="comma-separated receivers expected; exit 1 when they differ",
)
@click.argument("labels", nargs=-1)
def routes_test(config_path: Path, tree: bool, verify: str | None, labels: tuple[str, ...]) -> None:
    """Print the receivers an alert with LABELS (name=value ...) is routed to."""
    root = Route(load_alerting(config_path).route)
    alert = parse_labels(labels)
    if tree:
        click.echo(render_tree(root, alert) + "\n")
    receivers = ",".join(receivers_for(root, alert))
    click.echo(receivers)
    if verify is not None and verify != receivers:
        click.echo("WARNING: Expected receivers did not match resolved receivers.")
        sys.exit(1)


@routes_group.command("show")
@_CONFIG
def routes_show(config_path: Path) -> None:
    """Print the routing tree."""
    click.echo(render_tree(Route(load_alerting(config_path).route)))


@routes_group.command("export")
@_CONFIG
def routes_export(config_path: Path) -> None:
    """Print the routing part of the config as a plain alertmanager.yml (what
    /alertmanager/api/v2/status serves; ``amtool check-config`` accepts it)."""
    click.echo(alertmanager_yaml(load_alerting(config_path)), nl=False)


commands = [routes_group]
