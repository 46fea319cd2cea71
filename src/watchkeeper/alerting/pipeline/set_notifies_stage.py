"""Records what was notified: the notification log entry of (group, receiver) and a
``notified`` history row per alert."""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.alerting.history import AlertHistory, HistoryEntry, HistoryEvent
from watchkeeper.alerting.nflog import NflogEntry, NotificationLog
from watchkeeper.alerting.pipeline.stage import NotifyContext


class SetNotifiesStage:
    def __init__(
        self, nflog: NotificationLog, history: AlertHistory, retention: Callable[[], float]
    ) -> None:
        self._nflog = nflog
        self._history = history
        self._retention = retention

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        if not ctx.sent or ctx.event is None:
            return ctx
        last = ctx.sent[-1]
        keep = max(self._retention(), 2 * ctx.group.route.opts.repeat_interval)
        self._nflog.log(
            NflogEntry(
                group_id=ctx.group.id,
                receiver=ctx.receiver,
                group_key=ctx.group.key,
                firing=frozenset(ctx.firing_ids),
                resolved=frozenset(ctx.resolved_ids),
                notified_at=ctx.now,
                repeat_count=ctx.repeat_count,
                content=ctx.content,
                expires_at=ctx.now + keep,
            )
        )
        self._history.record_many(
            (
                HistoryEntry(
                    event=HistoryEvent.NOTIFIED,
                    at=ctx.now,
                    labels=a.labels,
                    fingerprint=a.fingerprint,
                    group_id=ctx.group.id,
                    detail={
                        "receiver": last.receiver,
                        "target": last.target,
                        "event": last.event.value,
                        "dedup_key": last.dedup_key,
                        "queued": last.queued,
                        "escalation_level": ctx.escalation_level,
                    },
                )
                for a in ctx.alerts
            ),
            deferred=True,
        )
        return ctx
