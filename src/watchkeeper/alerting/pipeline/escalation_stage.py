"""After a flush: starts the group's escalation policy when its first firing notification
went out (unacknowledged), and forgets it once everything in the group has resolved."""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.alerting.escalation import EscalationEngine, EscalationStatus
from watchkeeper.alerting.pipeline.stage import NotifyContext
from watchkeeper.core.enums import NotificationEvent


class EscalationStage:
    def __init__(
        self, engine: EscalationEngine, on_scheduled: Callable[[str, float], None]
    ) -> None:
        self._engine = engine
        self._on_scheduled = on_scheduled

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        policy = ctx.group.route.opts.escalation_policy
        gid = ctx.group.id
        state = self._engine.get(gid)
        if not any(not a.resolved(ctx.now) for a in ctx.all_alerts):
            if state is not None:
                self._engine.finish(gid)
            return ctx
        if policy is None or policy not in self._engine.policies:
            return ctx
        fired = any(s.event is NotificationEvent.FIRING for s in ctx.sent)
        idle = state is None or state.status is EscalationStatus.STOPPED
        if fired and idle and ctx.ack is None and ctx.firing():
            started = self._engine.start(gid, ctx.group.key, policy, ctx.now)
            if started.next_at is not None:
                self._on_scheduled(gid, started.next_at)
        return ctx
