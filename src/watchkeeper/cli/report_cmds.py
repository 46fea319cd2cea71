"""``watchkeeper report``: reports from a running Watchkeeper (its API, with a token that
has ``reports:read``; ``alerts:read`` for ``quality``).

watchkeeper report uptime -c FILE --service NAME [--period 30d | --start D --end D]
                          [--format csv|json|html] [-o FILE]
watchkeeper report digest -c FILE [--kind daily|weekly] [--format text|json]
watchkeeper report quality -c FILE [--period 7d] [--format text|json]

The instance is ``--url`` (default: the config's server address); the token is
``--token`` or ``WATCHKEEPER_TOKEN``. ``--format html`` writes the print-ready page: open
it in a browser and print it to PDF.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx

from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import load_config
from watchkeeper.core.errors import UserInputError, WatchkeeperError

TIMEOUT = 60.0

_CONFIG = config_option("the Watchkeeper config file (for the server address)", exists=True)
_URL = click.option("--url", default=None, help="a running Watchkeeper (default: server.listen)")
_TOKEN = click.option(
    "--token",
    envvar="WATCHKEEPER_TOKEN",
    default=None,
    help="API token (or set WATCHKEEPER_TOKEN)",
)
_OUTPUT = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="write it here"
)


def _get(
    config_path: Path, url: str | None, token: str | None, path: str, params: dict[str, str]
) -> httpx.Response:
    base = (url or load_config(config_path).config.server.base_url()).rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(
            base + path, params=params, headers=headers, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise WatchkeeperError(
            f"cannot reach Watchkeeper at {base}: {exc}; start it or pass --url"
        ) from None
    if response.status_code in (401, 403, 303):
        raise UserInputError(
            f"{base} refused the request ({response.status_code}); pass a token with "
            "reports:read (alerts:read for quality) as --token or WATCHKEEPER_TOKEN"
        )
    if response.status_code >= 400:
        raise UserInputError(f"{base}{path}: {_message(response)}")
    return response


def _message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    return f"HTTP {response.status_code}"


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f} %"


def _secs(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.0f} s"


@click.group("report")
def report_group() -> None:
    """Uptime/SLA reports, digests and alert quality from a running Watchkeeper."""


@report_group.command("uptime")
@_CONFIG
@click.option("--service", required=True, help="the service (a name from services:)")
@click.option("--period", default=None, help="how far back from --end (default 30d)")
@click.option("--start", default=None, help="a date (2026-01-01), RFC 3339 time or epoch")
@click.option("--end", default=None, help="default: now")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "html"]), default="csv", show_default=True
)
@_OUTPUT
@_URL
@_TOKEN
def uptime_cmd(
    config_path: Path,
    service: str,
    period: str | None,
    start: str | None,
    end: str | None,
    fmt: str,
    output: Path | None,
    url: str | None,
    token: str | None,
) -> None:
    """The uptime / SLA report of one service for a period."""
    params = {"service": service}
    for key, value in (("period", period), ("start", start), ("end", end)):
        if value:
            params[key] = value
    if fmt == "html":
        response = _get(config_path, url, token, "/reports/uptime/print", params)
    else:
        response = _get(
            config_path, url, token, "/api/v1/reports/uptime", {**params, "format": fmt}
        )
    text = response.text
    if fmt == "json":
        text = json.dumps(response.json(), indent=2) + "\n"
    _emit(text, output)


@report_group.command("digest")
@_CONFIG
@click.option("--kind", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_OUTPUT
@_URL
@_TOKEN
def digest_cmd(
    config_path: Path,
    kind: str,
    fmt: str,
    output: Path | None,
    url: str | None,
    token: str | None,
) -> None:
    """The digest of the last day or week (built now, not sent)."""
    d = _get(config_path, url, token, "/api/v1/reports/digest", {"kind": kind}).json()
    if fmt == "json":
        _emit(json.dumps(d, indent=2) + "\n", output)
        return
    resp = d["response"]
    lines = [
        f"{kind.title()} digest {d['period_start']} – {d['period_end']}",
        f"alerts: {d['alerts']['incidents']} incident(s)",
    ]
    lines += [f"  {row['service']}: {row['incidents']}" for row in d["alerts"]["by_service"]]
    lines.append("noisiest rules:")
    lines += [
        f"  {q['rule']}: {q['incidents']} incident(s), precision {_pct(q['precision'])}, "
        f"false positives {_pct(q['false_positive_rate'])}"
        for q in d["noisiest_rules"]
    ]
    lines.append(
        f"MTTA {_secs(resp['mtta_seconds'])} (target {_secs(resp['mtta_target_seconds'])}), "
        f"MTTR {_secs(resp['mttr_seconds'])} (target {_secs(resp['mttr_target_seconds'])})"
    )
    lines += [
        f"delivery {c['receiver']}/{c['channel']}: {_pct(c['success_rate'])}" for c in d["delivery"]
    ]
    lines += [f"SLO {s['name']}: {s['compliance']}" for s in d["slos"]]
    readiness = d["readiness"]
    lines.append(f"readiness: {readiness.get('summary') or readiness.get('message', '')}")
    _emit("\n".join(lines) + "\n", output)


@report_group.command("quality")
@_CONFIG
@click.option("--period", default="7d", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_URL
@_TOKEN
def quality_cmd(
    config_path: Path, period: str, fmt: str, url: str | None, token: str | None
) -> None:
    """Alert quality per rule: precision, false positives, MTTA, MTTR, flapping."""
    body = _get(config_path, url, token, "/api/v1/alert-quality", {"period": period}).json()
    if fmt == "json":
        click.echo(json.dumps(body, indent=2))
        return
    header = (
        f"{'rule':32} {'inc':>4} {'labelled':>8} {'precision':>9} {'FP':>7} {'MTTA':>6} {'MTTR':>6}"
    )
    click.echo(header)
    for q in [*body["rules"], body["overall"]]:
        click.echo(
            f"{q['rule'][:32]:32} {q['incidents']:4d} {q['labelled']:8d} "
            f"{_pct(q['precision']):>9} {_pct(q['false_positive_rate']):>7} "
            f"{_secs(q['mtta_seconds']):>6} {_secs(q['mttr_seconds']):>6}"
        )


commands = [report_group]
