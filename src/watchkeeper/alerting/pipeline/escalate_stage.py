"""Reaches the group's due escalation level: picks the level's receivers and the
``escalated`` event. Stops when the group is acknowledged or nothing fires unmuted.

A receiver that got a notification for the group at this very moment is skipped (level 1
after 0 minutes naming the route's own receiver does not page twice)."""

from __future__ import annotations

from dataclasses import replace

from watchkeeper.alerting.escalation import EscalationEngine
from watchkeeper.alerting.nflog import NotificationLog
from watchkeeper.alerting.pipeline.dedup_stage import content_digest, occurrence
from watchkeeper.alerting.pipeline.stage import NotifyContext
from watchkeeper.core.enums import NotificationEvent


class EscalateStage:
    def __init__(self, engine: EscalationEngine, nflog: NotificationLog) -> None:
        self._engine = engine
        self._nflog = nflog

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        due = self._engine.due_level(ctx.group.id)
        if due is None or ctx.ack is not None or not ctx.firing():
            return ctx.stop()
        state, level = due
        receivers = []
        for receiver in level.receivers:
            entry = self._nflog.get(ctx.group.id, receiver)
            if entry is not None and entry.notified_at == ctx.now:
                continue
            receivers.append(receiver)
        firing = frozenset(occurrence(a) for a in ctx.alerts if not a.resolved(ctx.now))
        resolved = frozenset(occurrence(a) for a in ctx.alerts if a.resolved(ctx.now))
        return replace(
            ctx,
            receivers=tuple(dict.fromkeys(receivers)),
            event=NotificationEvent.ESCALATED,
            escalation_level=state.next_level + 1,
            content=content_digest(firing, resolved),
            discriminator=f"{round(state.started_at * 1000)}:{state.cycle}:{state.next_level}",
            firing_ids=tuple(sorted(firing)),
            resolved_ids=tuple(sorted(resolved)),
        )
