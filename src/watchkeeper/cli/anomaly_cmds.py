"""``watchkeeper anomaly``: score a CSV series, measure a detector on a NAB-layout corpus.

watchkeeper anomaly score FILE.csv [--detector NAME] [--param KEY=VALUE] [--output OUT]
watchkeeper anomaly nab DATA_DIR --windows FILE [--detector NAME] [--threshold 0.5] [--json]
watchkeeper anomaly detectors
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from watchkeeper.anomaly.nab.corpus import load_corpus
from watchkeeper.anomaly.nab.runner import NO_ANOMALY_CATEGORY, NabReport, evaluate, run_detector
from watchkeeper.anomaly.registry import (
    DEFAULT_DETECTOR,
    DETECTORS,
    create_detector,
    validate_params,
)
from watchkeeper.anomaly.series_csv import read_series_file, write_scored
from watchkeeper.core.errors import UserInputError

_DETECTOR = click.option(
    "--detector",
    "-d",
    type=click.Choice(list(DETECTORS)),
    default=DEFAULT_DETECTOR,
    show_default=True,
    help="which detector to run (see `watchkeeper anomaly detectors`)",
)
_PARAM = click.option(
    "--param",
    "-p",
    "param_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="override one detector parameter (repeatable), e.g. -p margin=0.15",
)


def _params(detector: str, items: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--param {item!r}: write KEY=VALUE, e.g. --param margin=0.15")
        try:
            params[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            params[key.strip()] = text
    validate_params(detector, params)
    return params


@click.group("anomaly")
def anomaly_group() -> None:
    """Streaming anomaly detection: score series and measure detectors on NAB."""


@anomaly_group.command("detectors")
def detectors_cmd() -> None:
    """List the detectors and their parameters with defaults."""
    for kind in DETECTORS.values():
        click.echo(f"{kind.name}: {kind.summary}")
        for name, info in kind.params_model.model_fields.items():
            click.echo(f"    {name} = {info.default!r}  ({info.description})")


@anomaly_group.command("score")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@_DETECTOR
@_PARAM
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    help="write here instead of standard output",
)
def score_cmd(
    csv_file: Path, detector: str, param_items: tuple[str, ...], output: Path | None
) -> None:
    """Read timestamp,value rows from CSV_FILE; write timestamp,value,anomaly_score rows.

    Rows are scored in file order, each using only the rows before it. A score of 0.5 or
    more is worth an alert.
    """
    params = _params(detector, param_items)
    series = read_series_file(csv_file)
    scores = create_detector(detector, params).score_batch(series.timestamps, series.values)
    if output is None:
        write_scored(sys.stdout, series.timestamp_text, series.value_text, scores)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as out:
            write_scored(out, series.timestamp_text, series.value_text, scores)
    except OSError as exc:
        raise UserInputError(f"{output}: cannot write ({exc.strerror or exc})") from None


@anomaly_group.command("nab")
@click.argument("data_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--windows",
    "windows_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="the labelled windows JSON (NAB's combined_windows.json layout)",
)
@_DETECTOR
@_PARAM
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.5,
    show_default=True,
    help="the fixed alert threshold to report besides the optimised one",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def nab_cmd(
    data_dir: Path,
    windows_file: Path,
    detector: str,
    param_items: tuple[str, ...],
    threshold: float,
    as_json: bool,
) -> None:
    """Run a detector over a NAB-layout folder and print its NAB scores and counts."""
    params = _params(detector, param_items)
    files = load_corpus(data_dir, windows_file)
    scores, seconds = run_detector(files, lambda: create_detector(detector, params))
    report = evaluate(files, scores, threshold, seconds)
    if as_json:
        doc = {"detector": detector, "params": validate_params(detector, params).model_dump()}
        doc.update(_report_dict(report))
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(_format_report(report, detector, validate_params(detector, params).model_dump()))


def _report_dict(report: NabReport) -> dict[str, Any]:
    doc = asdict(report)
    doc["points_per_second"] = report.points_per_second
    return doc


def _format_report(report: NabReport, detector: str, params: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    lines = [
        f"detector {detector} ({shown})",
        f"{report.files} files, {report.rows} rows, {report.counts.windows} windows; "
        f"{report.points_per_second:,.0f} points/s",
        "",
        f"{'profile':<22}{'at ' + format(report.threshold, 'g'):>10}{'optimised':>12}"
        f"{'threshold':>11}",
    ]
    for p in report.profiles:
        lines.append(
            f"{p.profile.value:<22}{p.score:>10.2f}{p.best_score:>12.2f}{p.best_threshold:>11.4f}"
        )
    c = report.counts
    position = "-" if c.mean_hit_position is None else f"{c.mean_hit_position:.2f}"
    lines += [
        "",
        f"at threshold {report.threshold:g}:",
        f"  windows hit          {c.windows_hit} of {c.windows} "
        f"(mean position in window {position})",
        f"  windows missed       {c.windows_missed}",
        f"  alert starts outside windows {c.alert_starts_outside} "
        f"({c.rows_outside} rows above threshold)",
        f"  false alerts on {NO_ANOMALY_CATEGORY}: {c.no_anomaly_alert_starts}",
        "",
        f"{'category':<24}{'hit':>5}{'missed':>8}{'alerts outside':>16}",
    ]
    for name, cat in report.per_category.items():
        lines.append(
            f"{name:<24}{cat.windows_hit:>5}{cat.windows_missed:>8}{cat.alert_starts_outside:>16}"
        )
    return "\n".join(lines)


commands = [anomaly_group]
