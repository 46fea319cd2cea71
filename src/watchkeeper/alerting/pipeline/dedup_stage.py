"""Decides, from the notification log, whether a receiver gets a notification now, and
which event it is (Alertmanager's ``DedupStage``, plus acknowledgements and a stable
discriminator for the dedup key).

Alerts are compared by occurrence (fingerprint and start time), so an alert that resolves
and fires again between two flushes still counts as new."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.nflog import NflogEntry, NotificationLog
from watchkeeper.alerting.pipeline.stage import NotifyContext
from watchkeeper.core.enums import NotificationEvent


class NotifyReason(StrEnum):
    FIRST = "first notification"
    NEW_ALERTS = "new alerts added"
    NEW_RESOLVED = "some alerts resolved"
    ALL_RESOLVED = "all alerts resolved"
    REPEAT = "repeat interval elapsed"
    FORCED = "forced"


def occurrence(alert: Alert) -> str:
    return f"{alert.fingerprint}@{round(alert.starts_at * 1000)}"


def content_digest(firing: frozenset[str], resolved: frozenset[str]) -> str:
    text = ",".join(sorted(firing)) + "|" + ",".join(sorted(resolved))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def needs_update(
    entry: NflogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    *,
    repeat_interval: float,
    now: float,
    send_resolved: bool,
    acknowledged: bool,
) -> NotifyReason | None:
    if entry is None:
        return NotifyReason.FIRST if firing else None
    if not firing <= entry.firing:
        return NotifyReason.FIRST if not entry.firing else NotifyReason.NEW_ALERTS
    if not firing:
        return NotifyReason.ALL_RESOLVED if entry.firing else None
    if send_resolved and not resolved <= entry.resolved:
        return NotifyReason.NEW_RESOLVED
    if acknowledged:
        return None  # an acknowledgement stops repeats
    if entry.notified_at <= now - repeat_interval:
        return NotifyReason.REPEAT
    return None


class DedupStage:
    def __init__(self, nflog: NotificationLog, send_resolved: Callable[[str], bool]) -> None:
        self._nflog = nflog
        self._send_resolved = send_resolved

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        if not ctx.alerts:
            return ctx.stop()
        firing = frozenset(occurrence(a) for a in ctx.alerts if not a.resolved(ctx.now))
        resolved = frozenset(occurrence(a) for a in ctx.alerts if a.resolved(ctx.now))
        entry = self._nflog.get(ctx.group.id, ctx.receiver)
        reason = needs_update(
            entry,
            firing,
            resolved,
            repeat_interval=ctx.group.route.opts.repeat_interval,
            now=ctx.now,
            send_resolved=self._send_resolved(ctx.receiver),
            acknowledged=ctx.ack is not None,
        )
        if reason is None and ctx.force is not None and (firing or entry is not None):
            reason = NotifyReason.FORCED
        if reason is None:
            return ctx.stop()
        content = content_digest(firing, resolved)
        if not firing:
            event = NotificationEvent.RESOLVED
        elif reason is NotifyReason.REPEAT:
            event = NotificationEvent.REPEAT
        else:
            event = NotificationEvent.FIRING
        repeat_count = entry.repeat_count + 1 if entry and reason is NotifyReason.REPEAT else 0
        discriminator = content
        if reason is NotifyReason.REPEAT:
            discriminator += f":repeat:{repeat_count}"
        if reason is NotifyReason.FORCED:
            discriminator += f":{ctx.force}"
        return replace(
            ctx,
            event=event,
            content=content,
            discriminator=discriminator,
            repeat_count=repeat_count,
            firing_ids=tuple(sorted(firing)),
            resolved_ids=tuple(sorted(resolved)),
        )
