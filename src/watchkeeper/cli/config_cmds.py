"""``check-config``, ``config schema``, ``init``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from watchkeeper.config.loader import load_config
from watchkeeper.config.model import WatchkeeperConfig


@click.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def check_config(path: Path) -> None:
    """Validate a config file; exit non-zero listing every error."""
    loaded = load_config(path)
    cfg = loaded.config
    checks = sum(len(s.checks) for s in cfg.services)
    click.echo(
        f"{path}: OK ({len(cfg.services)} services, {checks} checks, "
        f"{len(cfg.alerting.receivers)} receivers)"
    )


@click.group("config")
def config_group() -> None:
    """Inspect the configuration format."""


@config_group.command("schema")
def schema() -> None:
    """Print the config's JSON Schema (for editor completion)."""
    doc = WatchkeeperConfig.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "Watchkeeper configuration"
    click.echo(json.dumps(doc, indent=2, sort_keys=True))


STARTER = Path(__file__).resolve().parent.parent / "config" / "starter" / "watchkeeper.yaml"


@click.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="watchkeeper.yaml")
@click.option("--force", is_flag=True, help="overwrite an existing file")
def init(path: Path, force: bool) -> None:
    """Write a commented starter config."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    path.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run: watchkeeper check-config {path}")


commands = [check_config, config_group, init]
