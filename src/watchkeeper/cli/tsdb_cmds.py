"""``watchkeeper tsdb import openmetrics FILE`` and ``watchkeeper tsdb export``.

Both work on a stopped instance: they take the data directory's lock, so while Watchkeeper
runs on that directory they refuse with a message saying so (stop it, run the command, start
it again; the import shows up on the next query, no restart of anything else needed).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import load_config
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.durations import format_duration
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Matcher
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.embedded import EmbeddedStore
from watchkeeper.tsdb.openmetrics import as_arrays, export_openmetrics, parse_openmetrics

_MIN_T = -(2**63)
_MAX_T = 2**63 - 1


def _storage(config_path: Path | None, data_dir: Path | None) -> StorageConfig:
    """Storage settings: the config file's (``storage.path`` relative to the file, as the
    server reads it) or the defaults, with ``--data-dir`` taking precedence."""
    if config_path is not None:
        loaded = load_config(config_path)
        storage = loaded.config.storage
        path = Path(storage.path).expanduser()
        if not path.is_absolute():
            storage = storage.model_copy(update={"path": str(loaded.base_dir / path)})
    else:
        storage = StorageConfig.model_validate({})
    if data_dir is not None:
        storage = storage.model_copy(update={"path": str(data_dir)})
    return storage


def _parse_time(text: str | None, option: str, default: int) -> int:
    if text is None:
        return default
    try:
        return round(float(text) * 1000)
    except ValueError:
        pass
    try:
        return round(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise UserInputError(
            f"{option} {text!r} is not a time: give seconds since the epoch (1700000000) "
            "or RFC 3339 (2024-01-31T12:00:00Z)"
        ) from None


def _lines_with_progress(handle: TextIO, progress: Progress, task: TaskID) -> Iterator[str]:
    for line in handle:
        progress.advance(task, len(line))
        yield line


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="data directory (storage.path); default: from --config, else ./data",
)
_CONFIG = config_option("take storage settings from this config file", optional=True)


@click.group("tsdb")
def tsdb_group() -> None:
    """Back-fill and export the embedded time-series store."""


@tsdb_group.group("import")
def import_group() -> None:
    """Load history into the store (Watchkeeper must be stopped)."""


@import_group.command("openmetrics")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
@_CONFIG
def import_openmetrics(file: Path, data_dir: Path | None, config_path: Path | None) -> None:
    """Import an OpenMetrics FILE with timestamps (as promtool's create-blocks-from
    openmetrics reads). All or nothing: a bad line stores nothing."""
    storage = _storage(config_path, data_dir)
    if not file.is_file():
        raise UserInputError(f"{file}: no such file; check the path")
    console = Console(stderr=True)
    store = EmbeddedStore.open(storage, clock=SystemClock(), background=False)
    try:
        try:
            size = file.stat().st_size
            handle = file.open(encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UserInputError(f"{file}: cannot read: {exc.strerror or exc}") from None
        with (
            handle,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=not console.is_terminal,
            ) as progress,
        ):
            task = progress.add_task(f"reading {file.name}", total=size)
            try:
                parsed = parse_openmetrics(_lines_with_progress(handle, progress, task), str(file))
            except UnicodeDecodeError as exc:
                raise UserInputError(
                    f"{file}: not UTF-8 text (byte {exc.start}); OpenMetrics files are UTF-8"
                ) from None
            progress.update(task, description=f"writing {parsed.samples} samples")
            result = store.import_series({k: as_arrays(v) for k, v in parsed.series.items()})
    finally:
        store.close()
    click.echo(
        f"imported {result.samples} samples of {result.series} series "
        f"({result.new_series} new) from {file} into {storage.path}"
        + (f"; {result.duplicates} duplicate timestamps skipped" if result.duplicates else "")
    )
    if result.expired:
        click.echo(
            f"warning: {result.expired} of those samples are older than storage.retention "
            f"({format_duration(float(storage.retention))}) and were dropped again; raise the "
            "retention (--config) to keep them",
            err=True,
        )


@tsdb_group.command("export")
@data_dir_option
@_CONFIG
@click.option(
    "--match",
    "selectors",
    multiple=True,
    help="series selector, e.g. 'up{job=\"api\"}' (repeatable; default: every series)",
)
@click.option("--start", default=None, help="from (epoch seconds or RFC 3339); default: all")
@click.option("--end", default=None, help="until (epoch seconds or RFC 3339); default: all")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write here instead of standard output",
)
def export(
    data_dir: Path | None,
    config_path: Path | None,
    selectors: tuple[str, ...],
    start: str | None,
    end: str | None,
    output: Path | None,
) -> None:
    """Write series as OpenMetrics text (staleness markers are left out)."""
    import promql_parser as pp

    from watchkeeper.promql.parse import parse_raw, selector_matchers

    matcher_sets: list[list[Matcher]] = []
    for text in selectors:
        node = parse_raw(text)
        if not isinstance(node, pp.VectorSelector):
            raise UserInputError(
                f'--match {text!r} is not a series selector; write e.g. up or {{job="api"}}'
            )
        matcher_sets.extend(selector_matchers(node))
    start_ms = _parse_time(start, "--start", _MIN_T)
    end_ms = _parse_time(end, "--end", _MAX_T)
    if end_ms < start_ms:
        raise UserInputError("--end is before --start; swap them")
    storage = _storage(config_path, data_dir)
    if not (Path(storage.path) / "tsdb").is_dir():
        raise UserInputError(
            f"no time-series data in {storage.path}: check --data-dir (or storage.path)"
        )
    store = EmbeddedStore.open(storage, clock=SystemClock(), background=False)
    try:
        if output is None:
            n_series, n_samples = export_openmetrics(
                store, matcher_sets, start_ms, end_ms, sys.stdout
            )
        else:
            with output.open("w", encoding="utf-8", newline="\n") as out:
                n_series, n_samples = export_openmetrics(store, matcher_sets, start_ms, end_ms, out)
    finally:
        store.close()
    click.echo(f"exported {n_samples} samples of {n_series} series", err=True)


commands = [tsdb_group]
