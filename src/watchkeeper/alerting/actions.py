"""What people do to alerts (through the API or the dashboard): post alerts, acknowledge,
withdraw an acknowledgement, resolve by hand, silence, plan maintenance, override who is
on call. Every action is recorded in the history with who did it; when ``by`` is a
principal and the manager has an audit log, also in the audit log, in the transaction
that makes the change (see :mod:`watchkeeper.alerting.audit`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from watchkeeper.alerting.acks import Acknowledgement
from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.audit import (
    Actor,
    ChangeAudit,
    actor_name,
    alert_record,
    change_audit,
    input_record,
    optional_time,
    override_detail,
    override_target,
    window_detail,
)
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.dispatcher import AggregationGroup
from watchkeeper.alerting.escalation import EscalationStatus
from watchkeeper.alerting.history import HistoryEntry, HistoryEvent
from watchkeeper.alerting.maintenance import MaintenanceWindow
from watchkeeper.alerting.model import AlertInput
from watchkeeper.alerting.oncall import Override
from watchkeeper.alerting.silences import Silence
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.security.audit import AuditAction

if TYPE_CHECKING:
    from watchkeeper.alerting.manager import AlertManager


MAX_AUDITED_NAMES = 20  # alert names and fingerprints listed in one record's detail


def _ms(ts: float) -> int:
    return round(ts * 1000)


class AlertActions:
    def __init__(self, manager: AlertManager) -> None:
        self.m = manager

    def _audit(self, by: Actor | None, remote_addr: str) -> ChangeAudit | None:
        return None if by is None else change_audit(self.m.audit, by, remote_addr)

    # -- alerts posted (the Alertmanager API) -------------------------------------------

    async def post_alerts(
        self,
        alerts: Sequence[AlertInput],
        *,
        by: Actor,
        remote_addr: str = "",
        rejected: int = 0,
    ) -> None:
        """Take alerts a client posts; one audit record for the whole post."""
        audit = self._audit(by, remote_addr)
        if audit is None or not alerts:
            await self.m.put(alerts)
            return
        names = sorted({a.labels.get("alertname", "") for a in alerts})
        detail: Mapping[str, Any] = {
            "count": len(alerts),
            "rejected": rejected,
            "alertnames": names[:MAX_AUDITED_NAMES],
            "fingerprints": [a.fingerprint for a in alerts[:MAX_AUDITED_NAMES]],
        }
        after = [input_record(a) for a in alerts]
        await self.m.put(
            alerts,
            on_write=audit.step(
                AuditAction.ALERTS_CREATE,
                lambda _: "alerts",
                after=lambda _: after,
                detail=lambda _: detail,
            ),
        )

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
        by: Actor,
        comment: str = "",
        expires_at: float | None = None,
        remote_addr: str = "",
        alert: str | None = None,
    ) -> Acknowledgement:
        """Acknowledge a group (``alert``: the alert the person acknowledged, if any)."""
        group = self.group(group_id)
        now = self.m.clock.now()
        if expires_at is None and self.m.config.acknowledgement.default_expiry:
            expires_at = now + float(self.m.config.acknowledgement.default_expiry)
        if expires_at is not None and expires_at <= now:
            raise UserInputError("the acknowledgement would expire in the past")
        name = actor_name(by)
        ack = Acknowledgement(group.id, group.key, name, now, expires_at, comment)
        audit = self._audit(by, remote_addr)
        prev = self.m.acks.stored(group.id)
        detail = {
            "group_key": group.key,
            "alert": alert,
            "comment": comment,
            "expires_at": optional_time(expires_at),
        }
        self.m.acks.put(
            ack,
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.ALERTS_ACK,
                lambda a: f"alert-group:{a.group_id}",
                before=lambda _: prev.to_dict() if prev is not None else None,
                after=Acknowledgement.to_dict,
                detail=lambda _: detail,
            ),
        )
        self.m.escalation.pause(group.id)
        self.m.scheduler.cancel(("escalate", group.id))
        self._record_group(
            group,
            HistoryEvent.ACKNOWLEDGED,
            now,
            name,
            {"comment": comment, "expires_at": expires_at},
        )
        await self.m.notices.group_event(
            group, NotificationEvent.ACKNOWLEDGED, str(_ms(now)), now, ack=ack
        )
        self.m.schedule_acks()
        return ack

    async def ack_alert(
        self,
        fp: str,
        *,
        by: Actor,
        comment: str = "",
        expires_at: float | None = None,
        remote_addr: str = "",
    ) -> list[Acknowledgement]:
        """Acknowledge every group the alert is in (one audit record per group)."""
        self.alert(fp)
        groups = self.m.dispatcher.groups_of(fp)
        if not groups:
            raise NotFoundError(f"alert {fp} is in no alert group any more")
        return [
            await self.ack_group(
                g.id,
                by=by,
                comment=comment,
                expires_at=expires_at,
                remote_addr=remote_addr,
                alert=fp,
            )
            for g in groups
        ]

    async def unack_group(
        self, group_id: str, *, by: Actor, remote_addr: str = "", alert: str | None = None
    ) -> Acknowledgement:
        audit = self._audit(by, remote_addr)
        ack = self.m.acks.remove(
            group_id,
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.ALERTS_UNACK,
                lambda a: f"alert-group:{a.group_id}",
                before=Acknowledgement.to_dict,
                detail=lambda a: {
                    "group_key": a.group_key,
                    "alert": alert,
                    "acknowledged_by": a.by,
                    "acknowledged_at": rfc3339(a.at),
                },
            ),
        )
        if ack is None:
            raise NotFoundError(f"alert group {group_id} is not acknowledged")
        await self.after_unack(
            ack, self.m.clock.now(), actor=actor_name(by), event=HistoryEvent.UNACKNOWLEDGED
        )
        self.m.schedule_acks()
        return ack

    async def unack_alert(
        self, fp: str, *, by: Actor, remote_addr: str = ""
    ) -> list[Acknowledgement]:
        self.alert(fp)
        out = []
        for group in self.m.dispatcher.groups_of(fp):
            if self.m.acks.get(group.id, self.m.clock.now()) is not None:
                out.append(
                    await self.unack_group(group.id, by=by, remote_addr=remote_addr, alert=fp)
                )
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

    async def resolve_alert(self, fp: str, *, by: Actor, remote_addr: str = "") -> Alert:
        now = self.m.clock.now()
        name = actor_name(by)
        audit = self._audit(by, remote_addr)
        old = self.m.store.get(fp)
        was_firing = self.m.store.is_firing(fp)
        change = self.m.store.resolve(
            fp,
            now,
            actor=name,
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.ALERTS_RESOLVE,
                lambda a: f"alert:{a.fingerprint}",
                before=lambda _: alert_record(old) if old is not None else None,
                after=alert_record,
                detail=lambda a: {"alertname": a.name, "was_firing": was_firing},
            ),
        )
        if change is None:
            raise NotFoundError(f"alert {fp} not found; it may have resolved and been cleared")
        self.m.history.record(
            HistoryEvent.RESOLVED_BY_HAND,
            labels=change.alert.labels,
            fingerprint=fp,
            at=now,
            actor=name,
        )
        await self.m.apply_changes([change], now)
        return change.alert

    # -- silences -----------------------------------------------------------------------

    async def set_silence(
        self,
        draft: Silence,
        *,
        force: bool = False,
        by: Actor | None = None,
        remote_addr: str = "",
    ) -> Silence:
        """Create a silence, or update the one ``draft.id`` names (an update that would
        rewrite history expires it and creates a new one: one ``silences:update`` record
        naming both)."""
        now = self.m.clock.now()
        audit = self._audit(by, remote_addr)
        prev = self.m.silences.find(draft.id) if draft.id else None
        action = AuditAction.SILENCES_CREATE if prev is None else AuditAction.SILENCES_UPDATE
        stored, expired = self.m.silences.set(
            draft,
            now,
            force=force,
            on_write=None
            if audit is None
            else audit.step(
                action,
                lambda s: f"silence:{prev.id if prev is not None else s.id}",
                before=lambda _: prev.record() if prev is not None else None,
                after=Silence.record,
                detail=lambda s: {
                    "id": s.id,
                    "replaced": prev.id if prev is not None and prev.id != s.id else None,
                    "matchers": s.describe(),
                    "startsAt": rfc3339(s.starts_at),
                    "endsAt": rfc3339(s.ends_at),
                    "comment": s.comment,
                    "force": force,
                },
            ),
        )
        changed = [stored] + ([expired] if expired else [])
        self.m.dispatcher.touch_matching(lambda a: any(s.matches(a.labels) for s in changed))
        self.m.silences_changed()
        return stored

    async def expire_silence(
        self, silence_id: str, *, by: Actor | None = None, remote_addr: str = ""
    ) -> Silence:
        audit = self._audit(by, remote_addr)
        before = self.m.silences.get(silence_id)
        silence = self.m.silences.expire(
            silence_id,
            self.m.clock.now(),
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.SILENCES_EXPIRE,
                lambda s: f"silence:{s.id}",
                before=lambda _: before.record(),
                after=Silence.record,
                detail=lambda s: {"matchers": s.describe(), "comment": s.comment},
            ),
        )
        self.m.dispatcher.touch_matching(lambda a: silence.matches(a.labels))
        self.m.silences_changed()
        return silence

    # -- maintenance --------------------------------------------------------------------

    async def create_maintenance(
        self, config: MaintenanceWindowConfig, *, by: Actor, remote_addr: str = ""
    ) -> MaintenanceWindow:
        bad = [r for r in config.notify or [] if r not in self.m.receiver_names]
        bad = [r for r in bad if not self.m.oncall.is_rotation(r)]
        if bad:
            raise UserInputError(
                f"unknown receiver {bad[0]!r} in notify; use one of: "
                + ", ".join(self.m.receiver_names)
            )
        audit = self._audit(by, remote_addr)
        window = self.m.maintenance.create(
            config,
            created_by=actor_name(by),
            now=self.m.clock.now(),
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.MAINTENANCE_CREATE,
                lambda w: f"maintenance-window:{w.id}",
                after=MaintenanceWindow.record,
                detail=window_detail,
            ),
        )
        self.m.maintenance_changed()
        return window

    async def delete_maintenance(
        self, window_id: str, *, by: Actor | None = None, remote_addr: str = ""
    ) -> MaintenanceWindow:
        audit = self._audit(by, remote_addr)
        window = self.m.maintenance.delete(
            window_id,
            self.m.clock.now(),
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.MAINTENANCE_DELETE,
                lambda w: f"maintenance-window:{w.id}",
                before=MaintenanceWindow.record,
                detail=window_detail,
            ),
        )
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
        by: Actor,
        comment: str = "",
        remote_addr: str = "",
    ) -> Override:
        audit = self._audit(by, remote_addr)
        return self.m.oncall.add_override(
            rotation,
            receiver,
            starts_at,
            ends_at,
            created_by=actor_name(by),
            comment=comment,
            now=self.m.clock.now(),
            known_receivers=self.m.receiver_names,
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.ONCALL_OVERRIDES_CREATE,
                override_target,
                after=Override.to_dict,
                detail=override_detail,
            ),
        )

    def remove_override(
        self, rotation: str, override_id: str, *, by: Actor | None = None, remote_addr: str = ""
    ) -> Override:
        audit = self._audit(by, remote_addr)
        return self.m.oncall.remove_override(
            rotation,
            override_id,
            on_write=None
            if audit is None
            else audit.step(
                AuditAction.ONCALL_OVERRIDES_DELETE,
                override_target,
                before=Override.to_dict,
                detail=override_detail,
            ),
        )
