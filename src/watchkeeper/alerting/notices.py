"""Notifications that are not a group flush: an alert starts flapping, a group is
acknowledged or unacknowledged, a maintenance window starts or ends. Each goes through a
pipeline with a stable dedup key, like every other notification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from watchkeeper.alerting.acks import Acknowledgement
from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.dispatcher import AggregationGroup, group_id
from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.maintenance import Announcement, MaintenanceWindow, Transition
from watchkeeper.alerting.pipeline.stage import GroupRef, NotifyContext, PipelineError, Stage
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.labels import Labels

if TYPE_CHECKING:
    from watchkeeper.alerting.manager import AlertManager

FAR_FUTURE = 4102444800.0  # 2100-01-01: "until further notice"


def _ms(ts: float) -> int:
    return round(ts * 1000)


class Notices:
    def __init__(self, manager: AlertManager, events: Stage, flapping: Stage) -> None:
        self.m = manager
        self._events = events
        self._flapping = flapping

    def _receivers(self, group: AggregationGroup) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys((group.route.opts.receiver, *self.m.escalation.reached(group.id)))
        )

    async def _run(self, stage: Stage, ctx: NotifyContext) -> NotifyContext:
        try:
            return await stage.exec(ctx)
        except PipelineError as exc:
            return exc.partial

    async def flapping_started(self, fp: str, now: float) -> None:
        alert = self.m.store.get(fp)
        since = self.m.flaps.since(fp)
        if alert is None or since is None:
            return
        self.m.history.record(HistoryEvent.FLAPPING, labels=alert.labels, fingerprint=fp, at=now)
        for group in self.m.dispatcher.groups_of(fp):
            ctx = NotifyContext(
                now=now,
                group=group.ref(),
                alerts=(alert,),
                all_alerts=(alert,),
                receivers=self._receivers(group),
                event=NotificationEvent.FLAPPING,
                discriminator=f"{fp}:{_ms(since)}",
            )
            await self._run(self._flapping, ctx)

    async def group_event(
        self,
        group: AggregationGroup,
        event: NotificationEvent,
        discriminator: str,
        now: float,
        ack: Acknowledgement | None = None,
    ) -> NotifyContext:
        """Tell every receiver that was already notified about the group."""
        alerts = tuple(a for fp in group.fingerprints if (a := self.m.store.get(fp)) is not None)
        notified = set(self.m.nflog.receivers(group.id))
        receivers = tuple(r for r in self._receivers(group) if r in notified)
        ctx = NotifyContext(
            now=now,
            group=group.ref(),
            alerts=alerts,
            all_alerts=alerts,
            receivers=receivers,
            ack=ack,
            event=event,
            discriminator=discriminator,
        )
        if not receivers or not alerts:
            return ctx
        return await self._run(self._events, ctx)

    async def announce_maintenance(self, removed: Sequence[MaintenanceWindow]) -> None:
        now = self.m.clock.now()
        for transition in self.m.maintenance.pending_announcements(now, removed):
            await self._announce(transition, now)
            self.m.maintenance.mark(transition)
            window = transition.window
            self.m.dispatcher.touch_matching(window.matches)

    async def _announce(self, transition: Transition, now: float) -> None:
        window = transition.window
        started = transition.announcement is Announcement.STARTED
        occ = window.occurrence(now, self.m.maintenance.intervals) if started else None
        labels = Labels({"alertname": "MaintenanceWindow", "maintenance_window": window.name})
        notice = Alert(
            labels=labels,
            annotations={
                "summary": f"maintenance window {window.name} "
                + ("started" if started else "ended"),
                "matchers": self.m.maintenance.describe(window),
                "comment": window.config.comment,
            },
            starts_at=transition.occurrence_start,
            ends_at=(occ[1] if occ and occ[1] else FAR_FUTURE) if started else now,
            updated_at=now,
            source="maintenance",
        )
        key = f"maintenance:{window.id}"
        receivers = window.config.notify
        if receivers is None:
            receivers = [self.m.routes.opts.receiver]
        ctx = NotifyContext(
            now=now,
            group=GroupRef(key=key, id=group_id(key), labels=labels, route=self.m.routes),
            alerts=(notice,),
            all_alerts=(notice,),
            receivers=tuple(receivers),
            event=NotificationEvent.MAINTENANCE_STARTED
            if started
            else NotificationEvent.MAINTENANCE_ENDED,
            discriminator=str(_ms(transition.occurrence_start)),
        )
        await self._run(self._events, ctx)
