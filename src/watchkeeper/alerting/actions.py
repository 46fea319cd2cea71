"""What people do to alerts (through the API or the dashboard): acknowledge, withdraw an
acknowledgement, resolve by hand, silence, plan maintenance, override who is on call.
Every action is recorded in the history with who did it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.alerting.acks import Acknowledgement
from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.dispatcher import AggregationGroup
from watchkeeper.alerting.escalation import EscalationStatus
from watchkeeper.alerting.history import HistoryEntry, HistoryEvent
from watchkeeper.alerting.maintenance import MaintenanceWindow
from watchkeeper.alerting.oncall import Override
from watchkeeper.alerting.silences import Silence
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import NotFoundError, UserInputError

if TYPE_CHECKING:
    from watchkeeper.alerting.manager import AlertManager


def _ms(ts: float) -> int:
    return round(ts * 1000)


class AlertActions:
    def __init__(self, manager: AlertManager) -> None:
        self.m = manager

    def group(self, group_id: str) -> AggregationGroup:
        group = self.m.dispatcher.groups.get(group_id)
        if group is None:
            raise NotFoundError(
                f"alert group {group_id} not found; it may have resolved (list current groups "
                "at /api/v1/alerts/groups)"
            )
        return group

    def alert(self, fp: str) -> Alert:
        alert = self.m.store.get(fp)
        if alert is None:
            raise NotFoundError(f"alert {fp} not found; it may have resolved and been cleared")
        return alert

    def _record_group(
        self,
        group: AggregationGroup,
        event: HistoryEvent,
        now: float,
        actor: str | None,
        detail: dict[str, object],
    ) -> None:
        self.m.history.record_many(
            HistoryEntry(
                event=event,
                at=now,
                labels=a.labels,
                fingerprint=a.fingerprint,
                group_id=group.id,
                actor=actor,
                detail=detail,
            )
            for fp in group.fingerprints
            if (a := self.m.store.get(fp)) is not None
        )

    # -- acknowledgement ----------------------------------------------------------------

    async def ack_group(
        self,
        group_id: str,
        *,
        by: str,
        comment: str = "",
        expires_at: float | None = None,
    ) -> Acknowledgement:
        group = self.group(group_id)
        now = self.m.clock.now()
        if expires_at is None and self.m.config.acknowledgement.default_expiry:
            expires_at = now + float(self.m.config.acknowledgement.default_expiry)
        if expires_at is not None and expires_at <= now:
            raise UserInputError("the acknowledgement would expire in the past")
        ack = Acknowledgement(group.id, group.key, by, now, expires_at, comment)
        self.m.acks.put(ack)
        self.m.escalation.pause(group.id)
        self.m.scheduler.cancel(("escalate", group.id))
        self._record_group(
            group,
            HistoryEvent.ACKNOWLEDGED,
            now,
            by,
            {"comment": comment, "expires_at": expires_at},
        )
        await self.m.notices.group_event(
            group, NotificationEvent.ACKNOWLEDGED, str(_ms(now)), now, ack=ack
        )
        self.m.schedule_acks()
        return ack

    async def ack_alert(
        self, fp: str, *, by: str, comment: str = "", expires_at: float | None = None
    ) -> list[Acknowledgement]:
        """Acknowledge every group the alert is in."""
        self.alert(fp)
        groups = self.m.dispatcher.groups_of(fp)
        if not groups:
            raise NotFoundError(f"alert {fp} is in no alert group any more")
        return [
            await self.ack_group(g.id, by=by, comment=comment, expires_at=expires_at)
            for g in groups
        ]

    async def unack_group(self, group_id: str, *, by: str) -> Acknowledgement:
        ack = self.m.acks.remove(group_id)
        if ack is None:
            raise NotFoundError(f"alert group {group_id} is not acknowledged")
        await self.after_unack(ack, self.m.clock.now(), actor=by, event=HistoryEvent.UNACKNOWLEDGED)
        self.m.schedule_acks()
        return ack

    async def unack_alert(self, fp: str, *, by: str) -> list[Acknowledgement]:
        self.alert(fp)
        out = []
        for group in self.m.dispatcher.groups_of(fp):
            if self.m.acks.get(group.id, self.m.clock.now()) is not None:
                out.append(await self.unack_group(group.id, by=by))
        if not out:
            raise NotFoundError(f"alert {fp} is not acknowledged")
        return out

    async def after_unack(
        self, ack: Acknowledgement, now: float, *, actor: str | None, event: HistoryEvent
    ) -> None:
        """An acknowledgement ended (withdrawn or expired): tell who was told, and start
        escalation over while the group still fires."""
        group = self.m.dispatcher.groups.get(ack.group_id)
        if group is None:
            return
        self._record_group(group, event, now, actor, {"acknowledged_by": ack.by})
        await self.m.notices.group_event(
            group, NotificationEvent.UNACKNOWLEDGED, f"{_ms(ack.at)}:{_ms(now)}", now
        )
        policy = group.route.opts.escalation_policy
        firing = any(self.m.store.is_firing(fp) for fp in group.fingerprints)
        state = self.m.escalation.get(group.id)
        idle = state is None or state.status is not EscalationStatus.RUNNING
        if policy and policy in self.m.escalation.policies and firing and idle:
            started = self.m.escalation.start(group.id, group.key, policy, now)
            if started.next_at is not None:
                self.m.dispatcher.schedule_escalation(group.id, started.next_at)

    # -- resolution by hand -------------------------------------------------------------

    async def resolve_alert(self, fp: str, *, by: str) -> Alert:
        now = self.m.clock.now()
        change = self.m.store.resolve(fp, now, actor=by)
        if change is None:
            raise NotFoundError(f"alert {fp} not found; it may have resolved and been cleared")
        self.m.history.record(
            HistoryEvent.RESOLVED_BY_HAND,
            labels=change.alert.labels,
            fingerprint=fp,
            at=now,
            actor=by,
        )
        await self.m.apply_changes([change], now)
        return change.alert

    # -- silences -----------------------------------------------------------------------

    async def set_silence(self, draft: Silence, *, force: bool = False) -> Silence:
        now = self.m.clock.now()
        stored, expired = self.m.silences.set(draft, now, force=force)
        changed = [stored] + ([expired] if expired else [])
        self.m.dispatcher.touch_matching(lambda a: any(s.matches(a.labels) for s in changed))
        self.m.silences_changed()
        return stored

    async def expire_silence(self, silence_id: str) -> Silence:
        silence = self.m.silences.expire(silence_id, self.m.clock.now())
        self.m.dispatcher.touch_matching(lambda a: silence.matches(a.labels))
        self.m.silences_changed()
        return silence

    # -- maintenance --------------------------------------------------------------------

    async def create_maintenance(
        self, config: MaintenanceWindowConfig, *, by: str
    ) -> MaintenanceWindow:
        bad = [r for r in config.notify or [] if r not in self.m.receiver_names]
        bad = [r for r in bad if not self.m.oncall.is_rotation(r)]
        if bad:
            raise UserInputError(
                f"unknown receiver {bad[0]!r} in notify; use one of: "
                + ", ".join(self.m.receiver_names)
            )
        window = self.m.maintenance.create(config, created_by=by, now=self.m.clock.now())
        self.m.maintenance_changed()
        return window

    async def delete_maintenance(self, window_id: str) -> MaintenanceWindow:
        window = self.m.maintenance.delete(window_id, self.m.clock.now())
        await self.m.notices.announce_maintenance([window])
        self.m.maintenance_changed()
        return window

    # -- on-call ------------------------------------------------------------------------

    def add_override(
        self,
        rotation: str,
        receiver: str,
        starts_at: float,
        ends_at: float,
        *,
        by: str,
        comment: str = "",
    ) -> Override:
        return self.m.oncall.add_override(
            rotation,
            receiver,
            starts_at,
            ends_at,
            created_by=by,
            comment=comment,
            now=self.m.clock.now(),
            known_receivers=self.m.receiver_names,
        )

    def remove_override(self, rotation: str, override_id: str) -> Override:
        return self.m.oncall.remove_override(rotation, override_id)
