"""Helpers for the notification tests: messages, receivers, an outbox + worker on the
state database."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.notify.base import AlertData, NotificationMessage, dedup_key
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.http import ClientFactory
from watchkeeper.notify.metrics import DeliveryMetrics
from watchkeeper.notify.outbox import SqlOutbox
from watchkeeper.notify.registry import build_notifiers
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.notify.worker import OutboxWorker
from watchkeeper.state.db import Database


def alert(
    name: str = "HighLatency",
    status: AlertStatus = AlertStatus.FIRING,
    *,
    starts_at: float = 1_700_000_000.0,
    ends_at: float | None = None,
    **labels: str,
) -> AlertData:
    all_labels = {"alertname": name, "severity": "critical", "service": "backend", **labels}
    return AlertData(
        status=status,
        labels=all_labels,
        annotations={"summary": f"{name} on backend", "description": "p99 above 2s for 5m"},
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url="http://127.0.0.1:8080/graph?g0.expr=up",
        fingerprint=hashlib.sha256(repr((name, sorted(labels.items()))).encode()).hexdigest()[:16],
    )


def message(
    receiver: str = "team",
    event: NotificationEvent = NotificationEvent.FIRING,
    *,
    group: str = "HighLatency",
    alerts: tuple[AlertData, ...] | None = None,
    discriminator: str = "",
    external_url: str = "http://watchkeeper.example:8080",
    **extra: Any,
) -> NotificationMessage:
    status = AlertStatus.RESOLVED if event is NotificationEvent.RESOLVED else AlertStatus.FIRING
    alerts = alerts or (
        alert(
            group,
            status,
            ends_at=1_700_000_600.0 if status is AlertStatus.RESOLVED else None,
        ),
    )
    group_key = f'{{}}:{{alertname="{group}"}}'
    return NotificationMessage(
        receiver=receiver,
        status=status,
        alerts=alerts,
        group_labels={"alertname": group},
        common_labels=dict(alerts[0].labels),
        common_annotations=dict(alerts[0].annotations),
        external_url=external_url,
        group_key=group_key,
        event=event,
        dedup_key=dedup_key(group_key, event, discriminator),
        created_at=1_700_000_000.0,
        **extra,
    )


def receiver(name: str = "team", **channels: Any) -> ReceiverConfig:
    return ReceiverConfig.model_validate({"name": name, **channels})


def fast_settings(**overrides: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "backoff_initial": 1.0,
        "backoff_max": 60.0,
        "jitter": 0.0,
        "max_age": 3600.0,
        "send_timeout": 5.0,
        "lease": 30.0,
        "rate_limits": {},
    }
    base.update(overrides)
    return NotifySettings.model_validate(base)


@dataclass
class Stage:
    """An outbox and a worker on one database, with a fake clock and a metrics registry."""

    db: Database
    outbox: SqlOutbox
    worker: OutboxWorker
    clock: FakeClock
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    async def close(self) -> None:
        await self.worker.stop(grace=0.1)
        await self.worker.notifiers.aclose()


def make_stage(
    db: Database,
    receivers: list[ReceiverConfig],
    clock: FakeClock,
    *,
    settings: NotifySettings | None = None,
    worker_id: str = "w1",
    external_url: str = "http://watchkeeper.example:8080",
) -> Stage:
    ctx = NotifierContext(clients=ClientFactory(), clock=clock, external_url=external_url)
    notifiers = build_notifiers(receivers, ctx)
    outbox = SqlOutbox(db, receivers, clock=clock)
    registry = CollectorRegistry()
    worker = OutboxWorker(
        outbox,
        notifiers,
        clock=clock,
        settings=settings or fast_settings(),
        metrics=DeliveryMetrics(registry),
        worker_id=worker_id,
        rng=random.Random(7),
    )
    return Stage(db, outbox, worker, clock, registry)
