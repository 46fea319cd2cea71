"""Puts the notification in the durable outbox. An on-call rotation named as receiver
resolves here to the person on call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from watchkeeper.alerting.pipeline.message import build_message
from watchkeeper.alerting.pipeline.stage import NotifyContext, Sent
from watchkeeper.notify.base import Outbox


class EnqueueStage:
    def __init__(
        self,
        outbox: Outbox,
        *,
        resolve_receiver: Callable[[str, float], tuple[str, dict[str, str]]],
        external_url: Callable[[], str],
    ) -> None:
        self._outbox = outbox
        self._resolve = resolve_receiver
        self._external_url = external_url

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        if ctx.event is None:
            return ctx.stop()
        target, extra = self._resolve(ctx.receiver, ctx.now)
        message = build_message(
            ctx,
            target=target,
            event=ctx.event,
            discriminator=ctx.discriminator,
            external_url=self._external_url(),
            extra=extra,
        )
        queued = self._outbox.enqueue(target, message)
        if queued:
            # let a worker that took the rows at enqueue time start sending before the
            # rest of the flush (its bookkeeping writes) runs
            await asyncio.sleep(0)
        sent = Sent(
            receiver=ctx.receiver,
            target=target,
            event=ctx.event,
            dedup_key=message.dedup_key,
            queued=queued,
            fingerprints=tuple(a.fingerprint for a in ctx.alerts),
        )
        return replace(ctx, sent=(*ctx.sent, sent))
