"""The notification API: receivers with their channel health, test notifications for
operators, and the deliveries with their attempts.

    router = build_router(service, external_url=cfg.server.base_url())
    app.include_router(router)

Routes (every one declares its permission):

    GET  /api/v1/receivers                    notifications:read
    POST /api/v1/receivers/{name}/test        notifications:test   (?wait=seconds)
    GET  /api/v1/deliveries                   notifications:read   (filters, ?before= cursor)
    GET  /api/v1/deliveries/{id}              notifications:read   (with its attempts)
    GET  /api/v1/delivery-attempts            notifications:read   (the delivery log)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from sqlalchemy.engine import Connection

from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.core.errors import DeliveryFailure, NotFoundError
from watchkeeper.notify.records import AttemptOutcome
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.testmsg import make_test_message
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import MAX_ROW_ID, Principal, require

MAX_WAIT = 30.0


def build_router(
    service: NotifyService,
    *,
    external_url: str | Callable[[], str] = "",
    audit: AuditLog | None = None,
) -> APIRouter:
    """With ``audit``, a test notification is recorded (``notifications:test``) in the
    transaction that queues it."""
    router = APIRouter(prefix="/api/v1", tags=["notifications"])
    read = [Depends(require(Permission.NOTIFICATIONS_READ))]

    def base_url() -> str:
        return external_url() if callable(external_url) else external_url

    @router.get("/receivers", dependencies=read)
    async def list_receivers() -> dict[str, Any]:
        """Receivers, their channel integrations (where they send) and each one's health."""
        health = {
            (h.receiver, h.channel, h.integration): h.to_dict()
            for h in await asyncio.to_thread(service.health.all)
        }
        items = []
        for name, receiver in sorted(service.outbox.receivers.items()):
            integrations = []
            for channel, index, cfg in receiver.integrations():
                notifier = service.notifiers.get(name, channel, index)
                describe = getattr(notifier, "describe", None)
                integrations.append(
                    {
                        "channel": channel,
                        "index": index,
                        "target": describe() if callable(describe) else channel,
                        "send_resolved": bool(getattr(cfg, "send_resolved", True)),
                        "health": health.get(
                            (name, channel, index),
                            {"status": "unknown", "consecutive_failures": 0},
                        ),
                        "warnings": list(getattr(notifier, "warnings", [])),
                    }
                )
            items.append({"name": name, "integrations": integrations})
        return {"receivers": items}

    @router.post("/receivers/{name}/test", status_code=202)
    async def send_test(
        name: str,
        request: Request,
        principal: Annotated[Principal, Depends(require(Permission.NOTIFICATIONS_TEST))],
        wait: float = Query(0.0, ge=0.0, le=MAX_WAIT, description="seconds to wait for outcomes"),
    ) -> dict[str, Any]:
        """Queue a clearly marked test notification through the real outbox."""
        receiver = service.outbox.receivers.get(name)
        if receiver is None:
            raise HTTPException(404, f"unknown receiver {name!r}")
        if not receiver.integrations():
            raise HTTPException(
                409, f"receiver {name!r} has no channel configs; add one (e.g. webhook_configs)"
            )
        message = make_test_message(
            name, clock=service.outbox.clock, external_url=base_url(), requested_by=principal.name
        )
        addr = remote_addr(request.scope)

        def audited(conn: Connection) -> None:
            if audit is not None:
                audit.record(
                    conn,
                    principal,
                    AuditAction.NOTIFICATIONS_TEST,
                    f"receiver:{name}",
                    after={"receiver": name, "dedup_key": message.dedup_key},
                    detail={"dedup_key": message.dedup_key},
                    remote_addr=addr,
                )

        queued = await asyncio.to_thread(service.outbox.enqueue, name, message, on_write=audited)
        deadline = time.monotonic() + wait
        while True:
            page = await asyncio.to_thread(
                service.outbox.list_deliveries, dedup_key=message.dedup_key, receiver=name
            )
            open_ = [
                d
                for d in page.items
                if d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
            ]
            if not open_ or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)
        return {
            "receiver": name,
            "dedup_key": message.dedup_key,
            "queued": queued,
            "deliveries": [d.to_dict() for d in page.items],
        }

    @router.get("/deliveries", dependencies=read)
    async def list_deliveries(
        receiver: str | None = None,
        channel: str | None = None,
        status: DeliveryStatus | None = None,
        event: NotificationEvent | None = None,
        dedup_key: str | None = None,
        test: bool | None = None,
        since: float | None = Query(None, description="unix seconds"),
        until: float | None = Query(None, description="unix seconds"),
        before: int | None = Query(
            None, ge=0, le=MAX_ROW_ID, description="cursor: next_before of the last page"
        ),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """Deliveries (one per channel integration), newest first."""
        page = await asyncio.to_thread(
            lambda: service.outbox.list_deliveries(
                receiver=receiver,
                channel=channel,
                status=status,
                event=event,
                dedup_key=dedup_key,
                is_test=test,
                since=since,
                until=until,
                before=before,
                limit=limit,
            )
        )
        return {"items": [d.to_dict() for d in page.items], "next_before": page.next_before}

    @router.get("/deliveries/{delivery_id}", dependencies=read)
    async def get_delivery(
        delivery_id: Annotated[int, Path(ge=0, le=MAX_ROW_ID)],
    ) -> dict[str, Any]:
        try:
            delivery = await asyncio.to_thread(service.outbox.get, delivery_id)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        attempts = await asyncio.to_thread(
            lambda: service.log.query(delivery_id=delivery_id, limit=1000)
        )
        return {**delivery.to_dict(), "attempt_log": [a.to_dict() for a in attempts.items]}

    @router.get("/delivery-attempts", dependencies=read)
    async def list_attempts(
        receiver: str | None = None,
        channel: str | None = None,
        outcome: AttemptOutcome | None = None,
        reason: DeliveryFailure | None = None,
        event: NotificationEvent | None = None,
        dedup_key: str | None = None,
        test: bool | None = None,
        since: float | None = None,
        until: float | None = None,
        before: int | None = Query(None, ge=0, le=MAX_ROW_ID),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """The delivery log: every attempt, newest first."""
        page = await asyncio.to_thread(
            lambda: service.log.query(
                receiver=receiver,
                channel=channel,
                outcome=outcome,
                reason=reason,
                event=event,
                dedup_key=dedup_key,
                is_test=test,
                since=since,
                until=until,
                before=before,
                limit=limit,
            )
        )
        return {"items": [a.to_dict() for a in page.items], "next_before": page.next_before}

    return router
