"""The dispatcher: routes alerts into aggregation groups and flushes each group through
the notification pipeline on Alertmanager's timers.

A new group flushes after ``group_wait`` (at once if its first alert already started that
long ago), then every ``group_interval``. When a flushed group's content changes (a new
alert, a resolution), it flushes as soon as ``group_interval`` has passed since its last
notification instead of waiting for the next tick: the same spacing, less latency. With
``group_wait: 0s`` a new alert is in the outbox within one turn of the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from watchkeeper.alerting.alerts import Alert, AlertStore
from watchkeeper.alerting.escalation import EscalationEngine, EscalationStatus
from watchkeeper.alerting.nflog import NotificationLog
from watchkeeper.alerting.pipeline.stage import (
    GroupRef,
    NotifyContext,
    PipelineError,
    Stage,
)
from watchkeeper.alerting.routing import Route
from watchkeeper.alerting.scheduler import Scheduler
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import WatchkeeperError
from watchkeeper.core.labels import Labels

log = logging.getLogger(__name__)


def group_id(group_key: str) -> str:
    """The short, URL-safe id of a group key (the outbox uses the same)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:32]


@dataclass(slots=True)
class AggregationGroup:
    key: str
    id: str
    labels: Labels
    route: Route
    created_at: float
    fingerprints: dict[str, None] = field(default_factory=dict)
    has_flushed: bool = False
    last_flush_at: float | None = None
    last_notified_at: float | None = None

    def ref(self) -> GroupRef:
        return GroupRef(key=self.key, id=self.id, labels=self.labels, route=self.route)


class Dispatcher:
    def __init__(
        self,
        *,
        clock: Clock,
        scheduler: Scheduler,
        store: AlertStore,
        nflog: NotificationLog,
        escalation: EscalationEngine,
        routes: Route,
        flush_pipeline: Stage,
        escalation_pipeline: Stage,
        keep_alert: Callable[[str], bool] = lambda fp: False,
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.store = store
        self.nflog = nflog
        self.escalation = escalation
        self.routes = routes
        self.flush_pipeline = flush_pipeline
        self.escalation_pipeline = escalation_pipeline
        self.keep_alert = keep_alert
        self.groups: dict[str, AggregationGroup] = {}
        self._by_alert: dict[str, set[str]] = {}
        self._routing: dict[str, list[tuple[Route, Labels, str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- routing ------------------------------------------------------------------------

    def set_routes(self, routes: Route) -> None:
        """Swap the routing tree (reload) and regroup every alert; groups whose key is
        unchanged keep their timers and history."""
        self.routes = routes
        self._routing.clear()
        old = self.groups
        self.groups = {}
        self._by_alert = {}
        now = self.clock.now()
        for alert in self.store:
            self.insert(alert, now, changed=False)
        for gid, group in self.groups.items():
            prev = old.get(gid)
            if prev is not None:
                group.created_at = prev.created_at
                group.has_flushed = prev.has_flushed
                group.last_flush_at = prev.last_flush_at
                group.last_notified_at = prev.last_notified_at
        for gid, group in old.items():
            if gid not in self.groups:
                self._delete_group(group)
        for gid, group in self.groups.items():
            if gid not in old:
                self._schedule_new(group, now)
            elif self.scheduler.due_at(("flush", gid)) is None:
                self._schedule(gid, now)

    def routes_for(self, alert: Alert) -> list[tuple[Route, Labels, str]]:
        found = self._routing.get(alert.fingerprint)
        if found is None:
            found = []
            for route in self.routes.match(alert.labels.to_dict()):
                labels = route.group_labels(alert.labels)
                found.append((route, labels, route.group_key(labels)))
            self._routing[alert.fingerprint] = found
        return found

    def insert(self, alert: Alert, now: float, *, changed: bool) -> list[AggregationGroup]:
        """Put ``alert`` into each of its groups; ``changed`` when its state changed."""
        out: list[AggregationGroup] = []
        for route, labels, key in self.routes_for(alert):
            gid = group_id(key)
            group = self.groups.get(gid)
            created = group is None
            if group is None:
                group = AggregationGroup(key, gid, labels, route, created_at=now)
                group.has_flushed = self.nflog.has_group(gid)
                group.last_notified_at = self.nflog.last_notified(gid)
                self.groups[gid] = group
            is_new = alert.fingerprint not in group.fingerprints
            if is_new:
                group.fingerprints[alert.fingerprint] = None
                self._by_alert.setdefault(alert.fingerprint, set()).add(gid)
            if created:
                self._schedule_new(group, now, alert)
            elif is_new or changed:
                self.touch(group, now, alert)
            out.append(group)
        return out

    def groups_of(self, fp: str) -> list[AggregationGroup]:
        return [self.groups[g] for g in self._by_alert.get(fp, ()) if g in self.groups]

    def touch(self, group: AggregationGroup, now: float, alert: Alert | None = None) -> None:
        """The group's content changed: flush as soon as its timers allow."""
        opts = group.route.opts
        if not group.has_flushed:
            if alert is not None and alert.starts_at + opts.group_wait <= now:
                self._earliest(group.id, now)
            return
        due = now
        if group.last_notified_at is not None:
            due = max(now, group.last_notified_at + opts.group_interval)
        self._earliest(group.id, due)

    def touch_matching(self, predicate: Callable[[Alert], bool]) -> None:
        now = self.clock.now()
        for group in list(self.groups.values()):
            for fp in group.fingerprints:
                alert = self.store.get(fp)
                if alert is not None and predicate(alert):
                    self.touch(group, now)
                    break

    def force_flush(self, gid: str, reason: str) -> None:
        self.scheduler.call_soon(("flush", gid), lambda: self.flush(gid, force=reason))

    # -- timers -------------------------------------------------------------------------

    def _schedule_new(
        self, group: AggregationGroup, now: float, alert: Alert | None = None
    ) -> None:
        if group.has_flushed:
            self.touch(group, now)
            return
        wait = group.route.opts.group_wait
        due = now + wait
        if alert is not None and alert.starts_at + wait <= now:
            due = now
        self._earliest(group.id, due)

    def _schedule(self, gid: str, when: float) -> None:
        self.scheduler.call_at(when, ("flush", gid), lambda: self.flush(gid))

    def _earliest(self, gid: str, when: float) -> None:
        self.scheduler.earliest(when, ("flush", gid), lambda: self.flush(gid))

    def schedule_escalation(self, gid: str, when: float) -> None:
        self.scheduler.call_at(when, ("escalate", gid), lambda: self.escalate(gid))

    # -- flushing -----------------------------------------------------------------------

    def _context(self, group: AggregationGroup, now: float) -> NotifyContext:
        alerts = tuple(a for fp in group.fingerprints if (a := self.store.get(fp)) is not None)
        receivers = (group.route.opts.receiver, *self.escalation.reached(group.id))
        return NotifyContext(
            now=now,
            group=group.ref(),
            alerts=alerts,
            all_alerts=alerts,
            receivers=tuple(dict.fromkeys(receivers)),
        )

    async def flush(self, gid: str, force: str | None = None) -> NotifyContext | None:
        lock = self._locks.setdefault(gid, asyncio.Lock())
        async with lock:  # one flush of a group at a time
            result = await self._flush(gid, force)
        if gid not in self.groups and not lock.locked():
            self._locks.pop(gid, None)  # a flush still waiting finds no group and returns
        return result

    async def _flush(self, gid: str, force: str | None) -> NotifyContext | None:
        group = self.groups.get(gid)
        if group is None:
            return None
        now = self.clock.now()
        ctx = replace(self._context(group, now), force=force)
        ok = True
        try:
            out = await self.flush_pipeline.exec(ctx)
        except PipelineError as exc:
            log.warning("flush of %s: %s", group.key, exc)
            out, ok = exc.partial, False
        except WatchkeeperError as exc:
            log.warning("flush of %s failed: %s", group.key, exc)
            out, ok = ctx, False
        group.has_flushed = True
        group.last_flush_at = now
        if out.sent:
            group.last_notified_at = now
        if ok:
            self._drop_resolved(group, ctx.alerts, now)
        if group.fingerprints:
            self._schedule(gid, now + group.route.opts.group_interval)
        else:
            self._delete_group(group)
        return out

    def _drop_resolved(self, group: AggregationGroup, flushed: Iterable[Alert], now: float) -> None:
        for alert in flushed:
            current = self.store.get(alert.fingerprint)
            if current is None or (
                current.updated_at == alert.updated_at and current.resolved(now)
            ):
                group.fingerprints.pop(alert.fingerprint, None)
                gids = self._by_alert.get(alert.fingerprint)
                if gids is not None:
                    gids.discard(group.id)
                    if not gids:
                        del self._by_alert[alert.fingerprint]
                        self._routing.pop(alert.fingerprint, None)
                        if not self.keep_alert(alert.fingerprint):
                            self.store.remove([alert.fingerprint])

    def _delete_group(self, group: AggregationGroup) -> None:
        self.groups.pop(group.id, None)
        self.scheduler.cancel(("flush", group.id))
        self.scheduler.cancel(("escalate", group.id))
        if self.escalation.get(group.id) is not None:
            self.escalation.finish(group.id)

    async def escalate(self, gid: str) -> NotifyContext | None:
        """Reach the group's due escalation level (a scheduler callback)."""
        due = self.escalation.due_level(gid)
        if due is None:
            return None
        group = self.groups.get(gid)
        if group is None:
            self.escalation.finish(gid)
            return None
        now = self.clock.now()
        try:
            out = await self.escalation_pipeline.exec(self._context(group, now))
        except PipelineError as exc:
            log.warning("escalation of %s: %s", group.key, exc)
            out = exc.partial
        if out.stopped:
            if out.ack is not None:
                self.escalation.pause(gid)
            elif any(self.store.is_firing(fp) for fp in group.fingerprints):
                # muted for now (silence, maintenance, time interval): look again later
                self.schedule_escalation(gid, now + group.route.opts.group_interval)
            else:
                self.escalation.stop(gid)
            return out
        state = self.escalation.advance(gid, now, tuple(due[1].receivers))
        if state.status is EscalationStatus.RUNNING and state.next_at is not None:
            self.schedule_escalation(gid, state.next_at)
        return out
