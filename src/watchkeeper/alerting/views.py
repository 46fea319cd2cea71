"""The read side: each alert's current status (why it is muted, who gets it, whether it is
acknowledged) and the groups, in Alertmanager's shapes and in Watchkeeper's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from watchkeeper.alerting.acks import Acknowledgement
from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.dispatcher import AggregationGroup
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.labels import Matcher, matches_all

if TYPE_CHECKING:
    from watchkeeper.alerting.manager import AlertManager


class AlertApiState(StrEnum):
    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    UNPROCESSED = "unprocessed"


@dataclass(frozen=True, slots=True)
class AlertView:
    alert: Alert
    firing: bool
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    maintenance: tuple[str, ...]
    suppressed_by: tuple[str, ...]  # firing alerts of services this one depends on
    flapping: bool
    receivers: tuple[str, ...]
    group_ids: tuple[str, ...]
    acks: tuple[Acknowledgement, ...]

    @property
    def state(self) -> AlertApiState:
        muted = self.silenced_by or self.inhibited_by or self.maintenance or self.suppressed_by
        return AlertApiState.SUPPRESSED if muted or self.flapping else AlertApiState.ACTIVE

    def am_dict(self) -> dict[str, Any]:
        """Alertmanager's ``GettableAlert``."""
        a = self.alert
        return {
            "annotations": dict(a.annotations),
            "endsAt": rfc3339(a.ends_at),
            "fingerprint": a.fingerprint,
            "receivers": [{"name": r} for r in self.receivers],
            "startsAt": rfc3339(a.starts_at),
            "status": {
                "inhibitedBy": [*self.inhibited_by, *self.suppressed_by],
                "silencedBy": [*self.silenced_by, *self.maintenance],
                "state": self.state.value,
            },
            "updatedAt": rfc3339(a.updated_at),
            "generatorURL": a.generator_url,
            "labels": a.labels.to_dict(),
        }

    def v1_dict(self) -> dict[str, Any]:
        a = self.alert
        return {
            "fingerprint": a.fingerprint,
            "labels": a.labels.to_dict(),
            "annotations": dict(a.annotations),
            "status": "firing" if self.firing else "resolved",
            "state": self.state.value,
            "starts_at": rfc3339(a.starts_at),
            "ends_at": rfc3339(a.ends_at),
            "updated_at": rfc3339(a.updated_at),
            "generator_url": a.generator_url,
            "source": a.source,
            "silenced_by": list(self.silenced_by),
            "inhibited_by": list(self.inhibited_by),
            "maintenance": list(self.maintenance),
            "suppressed_by": list(self.suppressed_by),
            "flapping": self.flapping,
            "receivers": list(self.receivers),
            "groups": list(self.group_ids),
            "acknowledged": bool(self.acks),
            "acknowledgements": [k.to_dict() for k in self.acks],
            "resolved_by": a.resolved_by,
        }


class AlertViews:
    def __init__(self, manager: AlertManager) -> None:
        self.m = manager

    def view(self, alert: Alert, now: float) -> AlertView:
        m = self.m
        firing = not alert.resolved(now)
        groups = m.dispatcher.groups_of(alert.fingerprint)
        acks = tuple(k for g in groups if (k := m.acks.get(g.id, now)) is not None)
        routes = m.dispatcher.routes_for(alert)
        return AlertView(
            alert=alert,
            firing=firing,
            silenced_by=tuple(m.silences.muting(alert, now)),
            inhibited_by=tuple(m.inhibitor.inhibited_by(alert, now, m.store.is_firing)),
            maintenance=tuple(m.maintenance.muting(alert, now)),
            suppressed_by=tuple(m.dependencies.suppressed_by(alert, now, m.store.is_firing)),
            flapping=m.flaps.is_flapping(alert.fingerprint),
            receivers=tuple(r.opts.receiver for r, _, _ in routes),
            group_ids=tuple(g.id for g in groups),
            acks=acks,
        )

    def alerts(
        self,
        *,
        filters: Sequence[Matcher] = (),
        receiver: re.Pattern[str] | None = None,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        include_resolved: bool = False,
    ) -> list[AlertView]:
        """Alertmanager's alert query (``active``/``silenced``/``inhibited`` toggles)."""
        now = self.m.clock.now()
        out: list[AlertView] = []
        for alert in self.m.store:
            if not include_resolved and alert.resolved(now):
                continue
            if not matches_all(filters, alert.label_map):
                continue
            v = self.view(alert, now)
            if receiver is not None and not any(receiver.fullmatch(r) for r in v.receivers):
                continue
            is_silenced = bool(v.silenced_by or v.maintenance)
            is_inhibited = bool(v.inhibited_by or v.suppressed_by)
            if not silenced and is_silenced:
                continue
            if not inhibited and is_inhibited:
                continue
            if not active and not (is_silenced or is_inhibited):
                continue
            out.append(v)
        out.sort(key=lambda v: (v.alert.starts_at, v.alert.fingerprint))
        return out

    def group_alerts(self, group: AggregationGroup, now: float) -> list[AlertView]:
        return [
            self.view(a, now)
            for fp in group.fingerprints
            if (a := self.m.store.get(fp)) is not None
        ]

    def groups(self) -> list[AggregationGroup]:
        return sorted(self.m.dispatcher.groups.values(), key=lambda g: g.key)

    def group_dict(self, group: AggregationGroup, now: float) -> dict[str, Any]:
        views = self.group_alerts(group, now)
        ack = self.m.acks.get(group.id, now)
        esc = self.m.escalation.get(group.id)
        policy = self.m.escalation.policy_of(esc) if esc is not None else None
        return {
            "id": group.id,
            "group_key": group.key,
            "labels": group.labels.to_dict(),
            "receiver": group.route.opts.receiver,
            "escalation_policy": group.route.opts.escalation_policy,
            "escalation": esc.to_dict(policy) if esc is not None else None,
            "acknowledgement": ack.to_dict() if ack is not None else None,
            "last_notified_at": rfc3339(group.last_notified_at) if group.last_notified_at else None,
            "alerts": [v.v1_dict() for v in views],
        }
