"""``notify test``: send a clearly marked test notification through the real path.

The message goes through the same outbox, worker, notifiers and retry rules as an alert
does, on a private temporary state database (so it works with or without a running
server and never competes with its outbox), and the command prints, per channel
integration, where it went and how the service answered.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import click

from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import load_config
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.core.errors import NotFoundError
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.records import Delivery
from watchkeeper.notify.registry import warnings
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.notify.testmsg import make_test_message
from watchkeeper.state.db import Database, sqlite_url


@click.group("notify")
def notify_group() -> None:
    """Notification channels."""


@notify_group.command("test")
@config_option()
@click.argument("receiver")
@click.option("--timeout", default=30.0, show_default=True, help="seconds to wait for answers")
@click.option("--attempts", default=3, show_default=True, help="attempts per channel")
def notify_test(config_path: Path, receiver: str, timeout: float, attempts: int) -> None:
    """Send a test notification to every channel of RECEIVER and show the answers."""
    loaded = load_config(config_path)
    cfg = loaded.config
    receivers = cfg.alerting.receivers
    names = [r.name for r in receivers]
    if receiver not in names:
        raise NotFoundError(
            f"receiver {receiver!r} is not defined in {config_path}; defined: "
            f"{', '.join(names) or '(none)'}"
        )
    ok = asyncio.run(_run(list(receivers), receiver, cfg.server.base_url(), timeout, attempts))
    if not ok:
        raise SystemExit(1)


async def _run(
    receivers: list[ReceiverConfig],
    receiver: str,
    external_url: str,
    within: float,
    attempts: int,
) -> bool:
    with tempfile.TemporaryDirectory(prefix="wk-notify-test-") as tmp:
        db = Database(sqlite_url(Path(tmp) / "state.sqlite"))
        try:
            db.upgrade()
            settings = NotifySettings.model_validate(
                {
                    "max_attempts": attempts,
                    "backoff_initial": 0.5,
                    "rate_limits": {},
                    "send_timeout": max(1.0, within),
                    "lease": max(1.0, within) + 60,
                }
            )
            clock = SystemClock()
            service = NotifyService.build(
                db, receivers, clock=clock, external_url=external_url, settings=settings
            )
            for warning in warnings(service.notifiers):
                click.echo(f"warning: {warning}", err=True)
            message = make_test_message(receiver, clock=clock, external_url=external_url)
            queued = service.outbox.enqueue(receiver, message)
            if queued == 0:
                click.echo(f"receiver {receiver!r} has no channel configs: nothing to send")
                return False
            click.echo(f"sending a test notification to {queued} channel(s) of {receiver!r} …")
            finished = await service.worker.drain(within)
            await service.stop(grace=1.0)
            return _report(service, message.dedup_key, finished)
        finally:
            db.dispose()


def _report(service: NotifyService, dedup_key: str, finished: bool) -> bool:
    deliveries = sorted(
        service.outbox.list_deliveries(dedup_key=dedup_key).items,
        key=lambda d: (d.channel, d.integration),
    )
    all_ok = finished
    for d in deliveries:
        notifier = service.notifiers.get(d.receiver, d.channel, d.integration)
        describe = getattr(notifier, "describe", None)
        target = describe() if callable(describe) else d.channel
        attempts = service.log.query(delivery_id=d.id).items
        latency = f"{attempts[0].latency_ms:.0f} ms" if attempts else "-"
        mark = _mark(d)
        all_ok = all_ok and d.status is DeliveryStatus.DELIVERED
        click.echo(f"{mark} {d.channel}[{d.integration}] → {target}")
        answer = d.response_summary or d.last_error or "no answer yet"
        click.echo(
            f"    {d.status.value} after {d.attempts} attempt(s), last took {latency}: {answer}"
        )
    if not finished:
        click.echo("some deliveries did not finish in time (raise --timeout)")
    return all_ok


def _mark(d: Delivery) -> str:
    if d.status is DeliveryStatus.DELIVERED:
        return "✔"
    return "✘" if d.status is DeliveryStatus.FAILED else "…"


commands = [notify_group]
