"""Builds the :class:`~watchkeeper.notify.base.NotificationMessage` of a context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.pipeline.stage import NotifyContext
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.notify.base import NotificationMessage, dedup_key


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    out = dict(maps[0])
    for m in maps[1:]:
        out = {k: v for k, v in out.items() if m.get(k) == v}
    return out


def build_message(
    ctx: NotifyContext,
    *,
    target: str,
    event: NotificationEvent,
    discriminator: str,
    external_url: str,
    alerts: Sequence[Alert] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> NotificationMessage:
    chosen = list(ctx.alerts if alerts is None else alerts)
    firing = any(not a.resolved(ctx.now) for a in chosen)
    return NotificationMessage(
        receiver=target,
        status=AlertStatus.FIRING if firing else AlertStatus.RESOLVED,
        alerts=tuple(a.data(ctx.now, _alert_url(external_url, a)) for a in chosen),
        group_labels=ctx.group.labels.to_dict(),
        common_labels=common([a.labels for a in chosen]),
        common_annotations=common([a.annotations for a in chosen]),
        external_url=external_url,
        group_key=ctx.group.key,
        event=event,
        dedup_key=dedup_key(ctx.group.key, event, discriminator),
        created_at=ctx.now,
        escalation_level=ctx.escalation_level,
        acknowledged_by=ctx.ack.by if ctx.ack is not None else None,
        extra={"group_id": ctx.group.id, "receiver": ctx.receiver, **(extra or {})},
    )


def _alert_url(external_url: str, alert: Alert) -> str:
    return f"{external_url.rstrip('/')}/alerts/{alert.fingerprint}" if external_url else ""
