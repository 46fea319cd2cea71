"""Alert quality and reports as one service the runtime builds and the web layer uses.

reports = ReportService(
    db=rt.db, history=rt.history, delivery_log=rt.notify.log, query=rt.query_vector,
    slos=slo_reader, config=lambda: rt.config, clock=rt.clock,
    audit=rt.security.audit, outbox=rt.notify.outbox, overhead=overhead_fn,
)
await reports.start()      # the digest schedule (reports.digests.*.enabled)
...
await reports.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Connection

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.core.labels import Labels
from watchkeeper.notify.base import Outbox
from watchkeeper.notify.log import DeliveryLog
from watchkeeper.notify.service import NotifyService
from watchkeeper.quality.digest import (
    Digest,
    DigestKind,
    DigestSources,
    OverheadFunc,
    build_digest,
)
from watchkeeper.quality.incidents import Incident, build_incidents, read_history
from watchkeeper.quality.labels import LabelRecord, LabelStore, Verdict
from watchkeeper.quality.metrics import RuleQuality, overall, rule_quality
from watchkeeper.quality.overhead import overhead_probe
from watchkeeper.quality.scheduler import DigestScheduler, DigestStore
from watchkeeper.quality.uptime import QueryFunc, UptimeReport, UptimeReporter
from watchkeeper.readiness.store import ReadinessStore
from watchkeeper.rules.manager import RuleManager
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.principal import Principal
from watchkeeper.security.setup import SecurityServices
from watchkeeper.slo.status import SLOStatusReader, rule_alert_state
from watchkeeper.state.db import Database
from watchkeeper.tsdb.base import SeriesStore

INCIDENT_LOOKAHEAD = 31 * 86400.0  # how long after firing a labelled incident may resolve


def _incident_time(incident_id: str) -> float:
    key, sep, ms = incident_id.rpartition("-")
    if not sep or not key or not ms.isdigit() or len(ms) > 15 or len(key) > 32:
        raise UserInputError(
            f"{incident_id!r} is not an incident id; ids look like 3f2a9c0d1e4b5a6f-1700000000000"
        )
    return int(ms) / 1000.0


class ReportService:
    def __init__(
        self,
        *,
        db: Database,
        history: AlertHistory,
        delivery_log: DeliveryLog,
        query: QueryFunc,
        slos: SLOStatusReader,
        config: Callable[[], WatchkeeperConfig],
        clock: Clock,
        audit: AuditLog | None = None,
        outbox: Outbox | None = None,
        overhead: OverheadFunc | None = None,
    ) -> None:
        self.history = history
        self._audit = audit
        self.labels = LabelStore(db, audit)
        self.slos = slos
        self.clock = clock
        self._config = config
        self._readiness = ReadinessStore(db)
        self.uptime_reporter = UptimeReporter(query=query, history=history)
        self.sources = DigestSources(
            history=history,
            labels=self.labels,
            delivery_log=delivery_log,
            slos=slos.all,
            readiness=self.readiness_latest,
            overhead=overhead,
        )
        self.digests = DigestStore(db)
        self.scheduler = DigestScheduler(
            self.digest, config, store=self.digests, clock=clock, outbox=outbox
        )

    @property
    def config(self) -> WatchkeeperConfig:
        return self._config()

    async def start(self) -> None:
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()

    # --- incidents and labels ------------------------------------------------------------

    def _external(self) -> dict[str, str]:
        return dict(self.config.global_.external_labels)

    def incidents(
        self,
        since: float,
        until: float,
        *,
        rule: str | None = None,
        service: str | None = None,
        unlabelled: bool = False,
    ) -> list[Incident]:
        """Incidents that fired in ``[since, until)`` with their labels, newest first."""
        items = build_incidents(read_history(self.history, since, until), self._external())
        items = [i for i in items if since <= i.fired_at < until]
        self.labels.apply(items, since, until)
        if rule is not None:
            items = [i for i in items if i.rule == rule]
        if service is not None:
            items = [i for i in items if i.service == service]
        if unlabelled:
            items = [i for i in items if i.label is None and i.resolved]
        return sorted(items, key=lambda i: (-i.fired_at, i.id))

    def incident(self, incident_id: str) -> Incident:
        # the id holds the firing time rounded to the millisecond: look a millisecond around
        fired_at = _incident_time(incident_id)
        since = fired_at - 0.001
        until = min(self.clock.now() + 1, fired_at + INCIDENT_LOOKAHEAD)
        entries = read_history(self.history, since, max(until, fired_at + 1))
        for item in build_incidents(entries, self._external()):
            if item.id == incident_id:
                self.labels.apply([item], since, fired_at + 0.001)
                return item
        raise NotFoundError(f"no incident {incident_id} in the alert history")

    def label(
        self,
        incident_id: str,
        verdict: Verdict,
        *,
        principal: Principal,
        comment: str = "",
        remote_addr: str = "",
    ) -> LabelRecord:
        incident = self.incident(incident_id)
        return self.labels.put(
            incident,
            verdict,
            principal=principal,
            now=self.clock.now(),
            comment=comment,
            remote_addr=remote_addr,
        )

    def unlabel(self, incident_id: str, *, principal: Principal, remote_addr: str = "") -> None:
        _incident_time(incident_id)
        self.labels.remove(incident_id, principal=principal, remote_addr=remote_addr)

    def quality(self, since: float, until: float) -> tuple[list[RuleQuality], RuleQuality]:
        items = self.incidents(since, until)
        return rule_quality(items), overall(items)

    # --- reports ---------------------------------------------------------------------------

    def readiness_latest(self) -> dict[str, Any] | None:
        found = self._readiness.latest()
        if found is None:
            return None
        summary, report = found
        return {
            "status": summary.status.value,
            "at": rfc3339(summary.finished_at),
            "summary": report.summary.line(),
            "run": summary.id,
        }

    def digest(self, kind: DigestKind, end: float | None = None) -> Digest:
        cfg = self.config
        return build_digest(
            kind,
            self.clock.now() if end is None else end,
            sources=self.sources,
            reports=cfg.reports,
            alerting=cfg.alerting,
            external_labels=cfg.global_.external_labels,
            now=self.clock.now(),
        )

    async def send_digest(
        self, kind: DigestKind, *, principal: Principal, remote_addr: str = ""
    ) -> Digest | None:
        """Build, store and send the digest of the period ending now, on someone's request
        (audited as ``notifications:test`` with the stored digest)."""
        end = self.clock.now()
        cfg = self.config
        schedule = getattr(cfg.reports.digests, kind.value)
        receivers = list(schedule.receivers) or [cfg.alerting.route.receiver or "default"]

        def audit(conn: Connection) -> None:
            if self._audit is None:
                return
            self._audit.record(
                conn,
                principal,
                AuditAction.NOTIFICATIONS_TEST,
                f"digest:{kind.value}",
                detail={"digest": kind.value, "period_end": end, "receivers": receivers},
                remote_addr=remote_addr,
            )

        return await self.scheduler.run(kind, end, audit)

    def uptime(self, service: str, start: float, end: float) -> UptimeReport:
        cfg = self.config
        svc = cfg.service(service)
        if svc is None:
            raise NotFoundError(
                f"no service named {service!r}; known: {', '.join(s.name for s in cfg.services)}"
            )
        slos = [self.slos.period(s, start, end) for s in cfg.slos if s.service == service]
        return self.uptime_reporter.report(
            service,
            start,
            end,
            title=svc.title,
            now=self.clock.now(),
            external_labels=cfg.global_.external_labels,
            slos=slos,
        )

    async def uptime_async(self, service: str, start: float, end: float) -> UptimeReport:
        return await asyncio.to_thread(self.uptime, service, start, end)


class RuntimeParts(Protocol):
    """What :func:`build_report_service` takes from the runtime."""

    db: Database
    history: AlertHistory
    clock: Clock
    registry: CollectorRegistry
    store: SeriesStore

    @property
    def config(self) -> WatchkeeperConfig: ...

    @property
    def notify(self) -> NotifyService: ...

    @property
    def rules(self) -> RuleManager: ...

    @property
    def security(self) -> SecurityServices: ...

    def query_vector(self, expr: str, at_s: float) -> Sequence[tuple[Labels, float]]: ...


def build_report_service(rt: RuntimeParts) -> ReportService:
    """The report service of a runtime (call it once every stage is built)::

    self.reports = build_report_service(self)
    """
    slos = SLOStatusReader(
        query=rt.query_vector,
        slos=lambda: rt.config.slos,
        alert_state=rule_alert_state(lambda: rt.rules.groups),
    )
    return ReportService(
        db=rt.db,
        history=rt.history,
        delivery_log=rt.notify.log,
        query=rt.query_vector,
        slos=slos,
        config=lambda: rt.config,
        clock=rt.clock,
        audit=rt.security.audit,
        outbox=rt.notify.outbox,
        overhead=overhead_probe(rt.registry, rt.store.stats, rt.clock),
    )
