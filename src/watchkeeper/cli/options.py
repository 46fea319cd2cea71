"""Options that several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

CONFIG_ENV = "WATCHKEEPER_CONFIG"


def config_option(
    help: str = "the Watchkeeper config file",
    *,
    default: str | None = None,
    optional: bool = False,
    exists: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--config``/``-c`` (or ``$WATCHKEEPER_CONFIG``) as ``config_path``: required unless
    a ``default`` is given or it is ``optional`` (``None`` when left out); ``exists`` makes
    click refuse a missing file itself."""
    return click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(exists=exists, dir_okay=False, path_type=Path),
        required=default is None and not optional,
        default=default,
        show_default=default is not None,
        envvar=CONFIG_ENV,
        help=help,
    )
