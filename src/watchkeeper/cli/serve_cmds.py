"""``serve``: run Watchkeeper against real services."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from watchkeeper.cli.options import config_option
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.gcpolicy import tune_for_server
from watchkeeper.runtime.server import Server


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for noisy in ("alembic", "httpx", "httpcore", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.command("serve")
@config_option(default="watchkeeper.yaml")
@click.option("--port", type=int, default=None, help="override server.listen's port")
@click.option("-v", "--verbose", is_flag=True)
def serve(config_path: Path, port: int | None, verbose: bool) -> None:
    """Collect, store, evaluate, alert, notify and serve the dashboard."""
    setup_logging(verbose)
    rt = Runtime.from_config(config_path)
    server = Server(rt, port=port)
    tune_for_server()
    click.echo(f"Watchkeeper serving on {server.url()} (config {config_path}); Ctrl-C stops it")
    asyncio.run(server.run())


commands = [serve]
