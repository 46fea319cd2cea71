"""Alert management, assembled: the :class:`AlertSink` that the rule evaluator and the
Alertmanager API feed, and the owner of every long-lived alerting state (alerts,
silences, acknowledgements, notification log, escalations, maintenance windows, on-call
overrides, history).

Long-lived state survives a reload; config-scoped objects (routes, inhibition rules,
time intervals, policies, rotations, dependencies) are rebuilt and swapped at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from watchkeeper.alerting.acks import Acknowledgements
from watchkeeper.alerting.actions import AlertActions
from watchkeeper.alerting.alerts import Alert, AlertChange, AlertStore, Transition, from_input
from watchkeeper.alerting.audit import OnWrite
from watchkeeper.alerting.config import AlertingConfig, semantic_problems
from watchkeeper.alerting.dependencies import DependencyMap
from watchkeeper.alerting.dispatcher import Dispatcher
from watchkeeper.alerting.escalation import EscalationEngine, EscalationStatus
from watchkeeper.alerting.flapping import FlapDetector, FlapEvent
from watchkeeper.alerting.history import AlertHistory, HistoryEntry, HistoryEvent
from watchkeeper.alerting.inhibit import Inhibitor, InhibitRule
from watchkeeper.alerting.maintenance import MaintenanceWindows
from watchkeeper.alerting.marker import MuteMarker
from watchkeeper.alerting.matchers import parse_matcher_lines
from watchkeeper.alerting.model import AlertInput
from watchkeeper.alerting.nflog import NotificationLog
from watchkeeper.alerting.notices import Notices
from watchkeeper.alerting.oncall import OnCall
from watchkeeper.alerting.pipelines import (
    PipelineParts,
    escalation_pipeline,
    event_pipeline,
    flapping_pipeline,
    flush_pipeline,
)
from watchkeeper.alerting.routing import Route
from watchkeeper.alerting.scheduler import Scheduler
from watchkeeper.alerting.silences import Silences
from watchkeeper.alerting.timeintervals import TimeIntervalSet, compile_intervals
from watchkeeper.alerting.views import AlertViews
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import ConfigError
from watchkeeper.notify.base import Outbox
from watchkeeper.security.audit import AuditLog
from watchkeeper.state.db import Database

if TYPE_CHECKING:
    from watchkeeper.config.model import WatchkeeperConfig

log = logging.getLogger(__name__)
GC_INTERVAL = 3600.0


class AlertManager:
    """Implements :class:`~watchkeeper.alerting.model.AlertSink`.

    ``services`` maps each service to the services it depends on (the root config's
    ``services[].depends_on``). With ``audit``, every change a principal makes through
    :attr:`actions` is recorded in the audit log in the transaction making it."""

    def __init__(
        self,
        config: AlertingConfig,
        *,
        db: Database,
        outbox: Outbox,
        clock: Clock,
        services: Mapping[str, Sequence[str]] | None = None,
        external_url: str = "",
        history: AlertHistory | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        problems = semantic_problems(config)
        if problems:
            raise ConfigError([f"alerting.{'.'.join(map(str, p))}: {m}" for p, m in problems])
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self.external_url = external_url
        self.audit = audit
        self.history = history or AlertHistory(db, clock)
        self.scheduler = Scheduler(clock)
        self.store = AlertStore(db)
        self.silences = Silences(db)
        self.acks = Acknowledgements(db)
        self.nflog = NotificationLog(db)
        self.maintenance = MaintenanceWindows(db)
        self.marker = MuteMarker()
        self.flaps = FlapDetector(config.flapping)
        self.escalation = EscalationEngine(db, {})
        self.oncall = OnCall(db, ())
        self.services: dict[str, list[str]] = {k: list(v) for k, v in (services or {}).items()}
        self._apply_config(config)
        parts = PipelineParts(
            outbox=outbox,
            nflog=self.nflog,
            history=self.history,
            silences=self.silences,
            acks=self.acks,
            maintenance=self.maintenance,
            escalation=self.escalation,
            flaps=self.flaps,
            marker=self.marker,
            inhibitor=lambda: self.inhibitor,
            dependencies=lambda: self.dependencies,
            intervals=lambda: self.intervals,
            is_firing=self.store.is_firing,
            send_resolved=self.send_resolved,
            resolve_receiver=self.oncall.resolve,
            external_url=lambda: self.external_url,
            nflog_retention=lambda: float(self.config.retention.notification_log),
            schedule_escalation=lambda gid, when: self.dispatcher.schedule_escalation(gid, when),
        )
        self.scheduler.after_burst(self.nflog.flush)
        self.scheduler.after_burst(self.history.flush)
        self.dispatcher = Dispatcher(
            clock=clock,
            scheduler=self.scheduler,
            store=self.store,
            nflog=self.nflog,
            escalation=self.escalation,
            routes=self.routes,
            flush_pipeline=flush_pipeline(parts),
            escalation_pipeline=escalation_pipeline(parts),
            keep_alert=self.flaps.is_flapping,
        )
        self.notices = Notices(self, event_pipeline(parts), flapping_pipeline(parts))
        self.actions = AlertActions(self)
        self.views = AlertViews(self)
        self._started = False
        self.started_at: float | None = None

    @classmethod
    def from_config(
        cls,
        config: WatchkeeperConfig,
        *,
        db: Database,
        outbox: Outbox,
        clock: Clock,
        history: AlertHistory | None = None,
        audit: AuditLog | None = None,
    ) -> AlertManager:
        """Build from the root config: the ``alerting`` section, the services' dependencies
        and the external URL for links in notifications."""
        return cls(
            config.alerting,
            db=db,
            outbox=outbox,
            clock=clock,
            services={s.name: list(s.depends_on) for s in config.services},
            external_url=config.server.base_url(),
            history=history,
            audit=audit,
        )

    # -- config -------------------------------------------------------------------------

    def _apply_config(self, config: AlertingConfig) -> None:
        self.config = config
        self.routes = Route(config.route)
        self.intervals: dict[str, TimeIntervalSet] = compile_intervals(config.all_time_intervals())
        self.inhibitor = Inhibitor(InhibitRule.from_config(r) for r in config.inhibit_rules)
        self.dependencies = DependencyMap(
            self.services,
            label=config.dependencies.label,
            source_matchers=parse_matcher_lines(config.dependencies.source_matchers),
            enabled=config.dependencies.enabled,
        )
        self.escalation.policies = {p.name: p for p in config.escalation_policies}
        self.oncall.set_rotations(config.oncall_rotations)
        self._receivers = {r.name: r for r in config.receivers}

    def send_resolved(self, receiver: str) -> bool:
        cfg = self._receivers.get(receiver)
        if cfg is None:
            return True  # an on-call rotation: its members decide
        integrations = cfg.integrations()
        return not integrations or any(
            bool(getattr(c, "send_resolved", True)) for _, _, c in integrations
        )

    @property
    def receiver_names(self) -> list[str]:
        return sorted(self._receivers)

    async def reload(
        self, config: AlertingConfig, services: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        """Swap the config atomically; a config with problems raises and changes nothing."""
        problems = semantic_problems(config)
        if problems:
            raise ConfigError([f"alerting.{'.'.join(map(str, p))}: {m}" for p, m in problems])
        Route(config.route)
        compile_intervals(config.all_time_intervals())
        if services is not None:
            self.services = {k: list(v) for k, v in services.items()}
        self._apply_config(config)
        self.flaps.enabled = config.flapping.enabled
        now = self.clock.now()
        self.inhibitor.rebuild(self.store, self.store.is_firing)
        self.dependencies.rebuild(self.store, self.store.is_firing)
        self.dispatcher.set_routes(self.routes)
        removed = self.maintenance.set_config(config.maintenance_windows, self.intervals, now)
        await self.notices.announce_maintenance(removed)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Load the persisted state, regroup the alerts and start the timers."""
        if self._started:
            return
        now = self.clock.now()
        self.store.load(now)
        self.silences.load()
        self.acks.load()
        self.nflog.load(now)
        self.maintenance.load()
        self.oncall.load()
        for state in self.escalation.load():
            if state.status is EscalationStatus.RUNNING and state.next_at is not None:
                self.dispatcher.schedule_escalation(state.group_id, max(now, state.next_at))
        self.maintenance.set_config(self.config.maintenance_windows, self.intervals, now)
        self.inhibitor.rebuild(self.store, self.store.is_firing)
        self.dependencies.rebuild(self.store, self.store.is_firing)
        for alert in self.store:
            self.dispatcher.insert(alert, now, changed=False)
        self._schedule_expiry()
        self.schedule_acks()
        self._schedule_silences()
        self.scheduler.call_soon(("maintenance",), self._maintenance_tick)
        self.scheduler.call_at(now + GC_INTERVAL, ("gc",), self._gc)
        self.scheduler.start()
        self._started = True
        self.started_at = now

    async def stop(self) -> None:
        await self.scheduler.stop()
        self.nflog.flush()
        self.history.flush()
        self.store.flush_pending(self.clock.now())
        self._started = False

    async def __aenter__(self) -> AlertManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- input --------------------------------------------------------------------------

    async def put(
        self, alerts: Sequence[AlertInput], *, on_write: OnWrite[Sequence[Alert]] | None = None
    ) -> None:
        """Take alerts from a sender (the rule evaluator, the Alertmanager API).
        ``on_write`` runs in the transaction that stores them."""
        if not alerts:
            return
        now = self.clock.now()
        resolve_timeout = float(self.config.resolve_timeout)
        fp = self.store.fingerprint_of
        changes = self.store.ingest(
            [from_input(a, now, resolve_timeout, fingerprint=fp(a.labels)) for a in alerts],
            now,
            write=False,
        )
        try:
            await self.apply_changes(changes, now)
            if self._started:
                await self.scheduler.run_due()  # group_wait 0: into the outbox right away
        finally:
            self.store.write_pending(on_write=on_write)  # stored before put returns

    async def apply_changes(self, changes: Sequence[AlertChange], now: float) -> None:
        entries: list[HistoryEntry] = []
        flapping: list[tuple[str, FlapEvent]] = []
        touched_services: set[str] = set()
        for change in changes:
            alert = change.alert
            fp = alert.fingerprint
            firing = self.store.is_firing(fp)
            self.inhibitor.update(alert, firing)
            self.dependencies.update(alert, firing)
            if change.previous is None and not firing and alert.source != "rule":
                entries.append(  # first seen already resolved: its only trace
                    HistoryEntry(
                        event=HistoryEvent.RESOLVED,
                        at=now,
                        labels=alert.labels,
                        fingerprint=fp,
                        detail={"source": alert.source, "first_seen_resolved": True},
                    )
                )
            if change.transition is not Transition.NONE:
                if alert.source != "rule":
                    event = (
                        HistoryEvent.FIRING
                        if change.transition is Transition.FIRING
                        else HistoryEvent.RESOLVED
                    )
                    entries.append(
                        HistoryEntry(
                            event=event,
                            at=now,
                            labels=alert.labels,
                            fingerprint=fp,
                            detail={"source": alert.source},
                        )
                    )
                service = alert.labels.get(self.dependencies.label)
                if service:
                    touched_services.add(service)
                flap = self.flaps.record(fp, now)
                if flap is not None:
                    flapping.append((fp, flap))
                if self.flaps.is_flapping(fp):
                    self._schedule_settle(fp)
            self.dispatcher.insert(alert, now, changed=change.transition is not Transition.NONE)
        self.history.record_many(entries)
        self._schedule_expiry()
        self._touch_dependents(touched_services)
        for fp, _ in flapping:
            await self.notices.flapping_started(fp, now)

    def _touch_dependents(self, services: set[str]) -> None:
        """An alert of a needed service changed: its dependents' groups look again."""
        dependents = {d for s in services for d in self.dependencies.dependents_of(s)}
        if not dependents:
            return
        now = self.clock.now()
        touched: set[str] = set()
        for fp in self.dependencies.alerts_of(dependents):
            for group in self.dispatcher.groups_of(fp):
                if group.id not in touched:
                    touched.add(group.id)
                    self.dispatcher.touch(group, now)

    # -- timers -------------------------------------------------------------------------

    def _schedule_expiry(self) -> None:
        when = self.store.next_expiry()
        if when is not None:
            self.scheduler.earliest(when, ("expiry",), self._expire)

    async def _expire(self) -> None:
        """Alerts whose end time passed resolve (not re-sent in time, or ended as told)."""
        now = self.clock.now()
        entries: list[HistoryEntry] = []
        services: set[str] = set()
        flapping: list[str] = []
        for alert in self.store.expire(now):
            fp = alert.fingerprint
            self.inhibitor.update(alert, False)
            self.dependencies.update(alert, False)
            if alert.timeout or alert.source == "rule":
                event, detail = HistoryEvent.EXPIRED, "not re-sent before its end time"
            else:
                event, detail = HistoryEvent.RESOLVED, "its end time passed"
            entries.append(
                HistoryEntry(
                    event=event,
                    at=alert.ends_at,
                    labels=alert.labels,
                    fingerprint=fp,
                    detail={"source": alert.source, "reason": detail},
                )
            )
            if service := alert.labels.get(self.dependencies.label):
                services.add(service)
            flap = self.flaps.record(fp, now)
            if self.flaps.is_flapping(fp):
                self._schedule_settle(fp)
            self.dispatcher.insert(alert, now, changed=True)
            if flap is FlapEvent.STARTED:
                flapping.append(fp)
        self.history.record_many(entries)
        self._touch_dependents(services)
        self._schedule_expiry()
        for fp in flapping:
            await self.notices.flapping_started(fp, now)

    def _schedule_settle(self, fp: str) -> None:
        when = self.flaps.settles_at(fp)
        if when is not None:
            self.scheduler.call_at(when, ("flap", fp), lambda: self._settle(fp))

    async def _settle(self, fp: str) -> None:
        now = self.clock.now()
        since = self.flaps.since(fp)
        if not self.flaps.settle_if_quiet(fp, now):
            self._schedule_settle(fp)
            return
        alert = self.store.get(fp)
        if alert is None:
            return
        self.history.record(
            HistoryEvent.FLAPPING_ENDED,
            labels=alert.labels,
            fingerprint=fp,
            at=now,
            detail={"state": alert.status(now).value},
        )
        for group in self.dispatcher.insert(alert, now, changed=False):
            self.dispatcher.force_flush(group.id, f"settled:{fp}:{round((since or now) * 1000)}")

    def schedule_acks(self) -> None:
        when = self.acks.next_expiry()
        if when is not None:
            self.scheduler.call_at(when, ("acks",), self._expire_acks)

    async def _expire_acks(self) -> None:
        now = self.clock.now()
        for ack in self.acks.take_expired(now):
            await self.actions.after_unack(ack, now, actor=None, event=HistoryEvent.ACK_EXPIRED)
        self.schedule_acks()

    def _schedule_silences(self) -> None:
        when = self.silences.next_change(self.clock.now())
        if when is not None:
            self.scheduler.call_at(when, ("silences",), self._silence_boundary)

    async def _silence_boundary(self) -> None:
        now = self.clock.now()
        changed = [s for s in self.silences.all() if now - 1e-6 <= s.starts_at <= now]
        changed += [s for s in self.silences.all() if now - 1e-6 <= s.ends_at <= now]
        if changed:
            self.dispatcher.touch_matching(lambda a: any(s.matches(a.labels) for s in changed))
        self._schedule_silences()

    def silences_changed(self) -> None:
        self._schedule_silences()

    async def _maintenance_tick(self) -> None:
        await self.notices.announce_maintenance(())
        when = self.maintenance.next_change(self.clock.now())
        if when is not None:
            self.scheduler.call_at(when, ("maintenance",), self._maintenance_tick)

    def maintenance_changed(self) -> None:
        self.scheduler.call_soon(("maintenance",), self._maintenance_tick)

    async def _gc(self) -> None:
        now = self.clock.now()
        retention = self.config.retention
        self.silences.gc(now, float(retention.silences))
        self.nflog.gc(now)
        self.history.prune(now - float(retention.history))
        self.flaps.forget_quiet(now)
        held = {a.fingerprint for a in self.store}
        self.marker.retain(held)
        self.dependencies.retain(held)
        self.scheduler.call_at(now + GC_INTERVAL, ("gc",), self._gc)
