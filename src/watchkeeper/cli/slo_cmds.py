"""``watchkeeper slo``: inspect the rules generated from the ``slos:`` section.

watchkeeper slo rules --config FILE [--output FILE]   the recording and alerting rules (YAML)
watchkeeper slo list --config FILE                    each SLO: objective, window, budget
"""

from __future__ import annotations

from pathlib import Path

import click

from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import load_config
from watchkeeper.rules.slo import slo_rule_groups, slo_rules_yaml
from watchkeeper.slo.rules import BURN_WINDOWS, w

_CONFIG = config_option(exists=True)


@click.group("slo")
def slo_group() -> None:
    """Service level objectives: the generated burn-rate rules."""


@slo_group.command("rules")
@_CONFIG
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write the rule file here instead of printing it",
)
def rules_cmd(config_path: Path, output: Path | None) -> None:
    """Print the SLOs' recording and alerting rules as a Prometheus rule file."""
    cfg = load_config(config_path).config
    slo_rule_groups(cfg)  # the same checks the server runs: a broken SLI fails here
    text = slo_rules_yaml(cfg)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(cfg.slos)} SLO rule group(s) to {output}", err=True)


@slo_group.command("list")
@_CONFIG
def list_cmd(config_path: Path) -> None:
    """List the SLOs with their objective, window, error budget and alert thresholds."""
    cfg = load_config(config_path).config
    if not cfg.slos:
        click.echo("no SLOs configured; add them under slos: in the config")
        return
    for slo in cfg.slos:
        alerts = ", ".join(
            f"{bw.severity.value} {bw.factor(float(slo.window)):g}x over {w(bw.long)}"
            for bw in BURN_WINDOWS
        )
        click.echo(
            f"{slo.name}  service={slo.service}  objective={slo.objective:g} %  "
            f"window={w(float(slo.window))}  error budget={slo.error_budget * 100:.4g} %"
        )
        click.echo(f"    burn-rate alerts: {alerts}")


commands = [slo_group]
