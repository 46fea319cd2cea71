"""The notification stage as the runtime wires it: outbox, worker, delivery log, health,
notifiers; built from config, started, reloaded and stopped as one object::

    service = NotifyService.build(
        db, cfg.alerting.receivers, clock=clock, external_url=cfg.server.base_url(),
        registry=prometheus_registry, settings=NotifySettings(),
    )
    alerting_pipeline = ...(outbox=service.outbox)   # notify.base.Outbox
    await service.start()
    service.reload(new_cfg.alerting.receivers, external_url=...)   # atomic swap
    await service.stop()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.config import ReceiverConfig
from watchkeeper.notify.http import ClientFactory
from watchkeeper.notify.log import DeliveryLog, HealthStore
from watchkeeper.notify.metrics import DeliveryMetrics
from watchkeeper.notify.outbox import SqlOutbox
from watchkeeper.notify.registry import NotifierSet, build_notifiers
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.notify.worker import OutboxWorker
from watchkeeper.state.db import Database


@dataclass
class NotifyService:
    outbox: SqlOutbox
    worker: OutboxWorker
    log: DeliveryLog
    health: HealthStore
    metrics: DeliveryMetrics | None
    transport: httpx.AsyncBaseTransport | None = None

    @classmethod
    def build(
        cls,
        db: Database,
        receivers: Sequence[ReceiverConfig],
        *,
        clock: Clock,
        external_url: str = "",
        settings: NotifySettings | None = None,
        registry: CollectorRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        worker_id: str | None = None,
    ) -> NotifyService:
        """Build everything; raises ConfigError (with locations) for unbuildable receivers."""
        notifiers = _notifiers(receivers, clock, external_url, transport)
        outbox = SqlOutbox(db, receivers, clock=clock)
        metrics = DeliveryMetrics(registry) if registry is not None else None
        worker = OutboxWorker(
            outbox,
            notifiers,
            clock=clock,
            settings=settings,
            metrics=metrics,
            worker_id=worker_id,
        )
        return cls(outbox, worker, DeliveryLog(db), HealthStore(db), metrics, transport)

    @property
    def notifiers(self) -> NotifierSet:
        return self.worker.notifiers

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.worker.stop(grace)
        await self.worker.notifiers.aclose()

    def reload(self, receivers: Sequence[ReceiverConfig], *, external_url: str = "") -> None:
        """Build the new notifiers first (a bad config raises and changes nothing), then
        swap receivers and notifiers together."""
        notifiers = _notifiers(receivers, self.outbox.clock, external_url, self.transport)
        self.outbox.set_receivers(receivers)
        self.worker.set_notifiers(notifiers)


def _notifiers(
    receivers: Sequence[ReceiverConfig],
    clock: Clock,
    external_url: str,
    transport: httpx.AsyncBaseTransport | None,
) -> NotifierSet:
    ctx = NotifierContext(clients=ClientFactory(transport), clock=clock, external_url=external_url)
    return build_notifiers(receivers, ctx)
