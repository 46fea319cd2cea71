"""Test notifications through the real path: a private temporary state database, the
real :class:`~watchkeeper.notify.service.NotifyService` (outbox, worker, notifiers, retry
rules), one clearly marked test message per receiver, and each channel's answer and
end-to-end latency read back from the outbox and the delivery log."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.notify.testmsg import make_test_message
from watchkeeper.state.db import Database, sqlite_url

REQUESTED_BY = "watchkeeper validate"


@dataclass(frozen=True, slots=True)
class ChannelAnswer:
    receiver: str
    channel: str
    integration: int
    target: str
    status: DeliveryStatus
    attempts: int
    answer: str
    latency_ms: float | None  # from queueing to the final answer
    last_attempt_ms: float | None


async def send_test_notifications(
    receivers: Sequence[ReceiverConfig],
    names: Sequence[str],
    *,
    clock: Clock,
    external_url: str,
    within: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[ChannelAnswer]:
    """Send one test notification to every channel of each receiver in ``names`` and
    wait up to ``within`` seconds for the answers."""
    with tempfile.TemporaryDirectory(prefix="wk-readiness-") as tmp:
        db = Database(sqlite_url(Path(tmp) / "state.sqlite"))
        try:
            db.upgrade()
            settings = NotifySettings.model_validate(
                {
                    "max_attempts": 3,
                    "backoff_initial": 0.5,
                    "rate_limits": {},
                    "send_timeout": max(1.0, within),
                    "lease": max(1.0, within) + 60,
                }
            )
            service = NotifyService.build(
                db,
                receivers,
                clock=clock,
                external_url=external_url,
                settings=settings,
                transport=transport,
            )
            keys: dict[str, str] = {}
            for name in names:
                message = make_test_message(
                    name, clock=clock, external_url=external_url, requested_by=REQUESTED_BY
                )
                service.outbox.enqueue(name, message)
                keys[name] = message.dedup_key
            try:
                await service.worker.drain(within)
            finally:
                await service.stop(grace=1.0)
            return _answers(service, keys)
        finally:
            db.dispose()


def _answers(service: NotifyService, keys: dict[str, str]) -> list[ChannelAnswer]:
    out: list[ChannelAnswer] = []
    for receiver, key in keys.items():
        deliveries = sorted(
            service.outbox.list_deliveries(dedup_key=key).items,
            key=lambda d: (d.channel, d.integration),
        )
        for d in deliveries:
            notifier = service.notifiers.get(d.receiver, d.channel, d.integration)
            describe = getattr(notifier, "describe", None)
            attempts = service.log.query(delivery_id=d.id).items
            out.append(
                ChannelAnswer(
                    receiver=receiver,
                    channel=d.channel,
                    integration=d.integration,
                    target=str(describe()) if callable(describe) else d.channel,
                    status=d.status,
                    attempts=d.attempts,
                    answer=d.response_summary or d.last_error or "no answer yet",
                    latency_ms=(d.finished_at - d.created_at) * 1000
                    if d.finished_at is not None
                    else None,
                    last_attempt_ms=attempts[0].latency_ms if attempts else None,
                )
            )
    return out
