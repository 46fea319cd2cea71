"""Attaches the group's acknowledgement (if any): it stops repeats and escalation."""

from __future__ import annotations

from dataclasses import replace

from watchkeeper.alerting.acks import Acknowledgements
from watchkeeper.alerting.pipeline.stage import NotifyContext


class AckStage:
    def __init__(self, acks: Acknowledgements) -> None:
        self._acks = acks

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        ack = self._acks.get(ctx.group.id, ctx.now)
        return replace(ctx, ack=ack) if ack is not None else ctx
