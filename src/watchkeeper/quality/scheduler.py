"""Digests on a schedule: at each ``reports.digests.<kind>.cron`` time, build the digest
of the period that ends then, store it, and send it through the notification outbox
(event ``report``, so paging channels skip it) to its receivers or the root route's.

    scheduler = DigestScheduler(make_digest, lambda: rt.config, store=DigestStore(rt.db),
                                clock=rt.clock, outbox=rt.notify.outbox)
    await scheduler.start()     # ... await scheduler.stop()

The schedule is re-read on every wake-up (at least once a minute), so a reload takes
effect without a restart. A digest is stored once per period: a restart at the scheduled
minute does not send it twice (the outbox deduplicates on the same key).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.core.cron import next_run
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.core.errors import NotFoundError
from watchkeeper.core.tasks import cancel
from watchkeeper.notify.base import AlertData, NotificationMessage, Outbox, dedup_key
from watchkeeper.quality.digest import Digest, DigestKind
from watchkeeper.state.db import Database
from watchkeeper.state.tables.quality import report_digests

log = logging.getLogger(__name__)
D = report_digests
ALERTNAME = "WatchkeeperDigest"
MAX_SLEEP = 60.0

MakeDigest = Callable[[DigestKind, float], Digest]
AuditHook = Callable[[Connection], None]


class DigestStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, digest: Digest, audit: AuditHook | None = None) -> int | None:
        """Store a digest; ``None`` when this period's digest of this kind exists.
        ``audit(conn)`` runs in the same transaction once it is stored."""
        with self._db.begin() as conn:
            found = conn.execute(
                sa.select(D.c.id).where(
                    D.c.kind == digest.kind.value, D.c.period_end == digest.period_end
                )
            ).first()
            if found is not None:
                return None
            new_id = conn.execute(
                sa.insert(D)
                .values(
                    kind=digest.kind.value,
                    period_start=digest.period_start,
                    period_end=digest.period_end,
                    created_at=digest.generated_at,
                    receivers=json.dumps(digest.sent_to),
                    body=json.dumps(digest.to_dict(), default=str),
                )
                .returning(D.c.id)
            ).scalar_one()
            if audit is not None:
                audit(conn)
        return int(new_id)

    def list(self, kind: DigestKind | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without the bodies."""
        query = sa.select(
            D.c.id, D.c.kind, D.c.period_start, D.c.period_end, D.c.created_at, D.c.receivers
        ).order_by(D.c.period_end.desc(), D.c.id.desc())
        if kind is not None:
            query = query.where(D.c.kind == kind.value)
        with self._db.connect() as conn:
            rows = conn.execute(query.limit(max(1, min(limit, 1000)))).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "period_start": rfc3339(r.period_start),
                "period_end": rfc3339(r.period_end),
                "created_at": rfc3339(r.created_at),
                "sent_to": json.loads(r.receivers),
            }
            for r in rows
        ]

    def get(self, digest_id: int) -> dict[str, Any]:
        with self._db.connect() as conn:
            row = conn.execute(sa.select(D.c.body).where(D.c.id == digest_id)).first()
        if row is None:
            raise NotFoundError(f"no digest {digest_id}")
        body: dict[str, Any] = json.loads(row.body)
        return body


def digest_message(
    digest: Digest, receiver: str, *, external_url: str, now: float
) -> NotificationMessage:
    text = digest.text()
    kind = digest.kind.value
    base = external_url.rstrip("/")
    labels = {"alertname": ALERTNAME, "digest": kind, "severity": "info", "receiver": receiver}
    summary = text.splitlines()[0]
    annotations = {"summary": summary, "description": text}
    alert = AlertData(
        status=AlertStatus.RESOLVED,
        labels=labels,
        annotations=annotations,
        starts_at=digest.period_start,
        ends_at=digest.period_end,
        generator_url="",
        fingerprint=f"digest-{kind}-{round(digest.period_end)}",
        dashboard_url=f"{base}/reports/digest?kind={kind}" if base else "",
    )
    group_key = f"watchkeeper-digest-{kind}:{receiver}"
    return NotificationMessage(
        receiver=receiver,
        status=AlertStatus.RESOLVED,
        alerts=(alert,),
        group_labels={"alertname": ALERTNAME, "digest": kind},
        common_labels=dict(labels),
        common_annotations=dict(annotations),
        external_url=external_url,
        group_key=group_key,
        event=NotificationEvent.REPORT,
        dedup_key=dedup_key(group_key, NotificationEvent.REPORT, str(round(digest.period_end))),
        created_at=now,
        extra={"digest": digest.to_dict()},
    )


class DigestScheduler:
    def __init__(
        self,
        make_digest: MakeDigest,
        config: Callable[[], WatchkeeperConfig],
        *,
        store: DigestStore,
        clock: Clock,
        outbox: Outbox | None = None,
    ) -> None:
        self._make = make_digest
        self._config = config
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self._task: asyncio.Task[None] | None = None
        self._due: dict[DigestKind, tuple[str, float]] = {}
        self.sent = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="digest-schedule")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel(task)

    def due(self) -> dict[DigestKind, float]:
        """When each enabled digest is next due (after :meth:`plan`)."""
        return {kind: at for kind, (_, at) in self._due.items()}

    def plan(self, now: float) -> None:
        """Work out each enabled digest's next time; keep it while its cron is unchanged."""
        digests = self._config().reports.digests
        planned: dict[DigestKind, tuple[str, float]] = {}
        for kind in DigestKind:
            schedule = getattr(digests, kind.value)
            if not schedule.enabled:
                continue
            known = self._due.get(kind)
            if known is not None and known[0] == schedule.cron:
                planned[kind] = known
            else:
                planned[kind] = (schedule.cron, next_run(schedule.cron, now))
        self._due = planned

    async def _loop(self) -> None:
        while True:
            now = self.clock.now()
            self.plan(now)
            for kind, (cron, at) in sorted(self._due.items(), key=lambda kv: kv[1][1]):
                if at > now:
                    continue
                try:
                    await self.run(kind, at)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a failed digest must not end the schedule
                    log.exception("the %s digest failed", kind.value)
                self._due[kind] = (cron, next_run(cron, max(at, now)))
            wake = min((at for _, at in self._due.values()), default=now + MAX_SLEEP)
            await self.clock.sleep(max(0.0, min(wake - self.clock.now(), MAX_SLEEP)))

    async def run(
        self, kind: DigestKind, end: float, audit: AuditHook | None = None
    ) -> Digest | None:
        """Build the digest of the period ending at ``end``, store it, send it. ``None``
        when that period's digest was already stored (and sent). ``audit`` records who
        asked, in the transaction that stores it."""
        cfg = self._config()
        digest = await asyncio.to_thread(self._make, kind, end)
        schedule = getattr(cfg.reports.digests, kind.value)
        receivers = list(schedule.receivers) or [cfg.alerting.route.receiver or "default"]
        digest.sent_to = receivers if self.outbox is not None else []
        stored = await asyncio.to_thread(self.store.save, digest, audit)
        if stored is None:
            return None
        if self.outbox is not None:
            for receiver in receivers:
                message = digest_message(
                    digest, receiver, external_url=cfg.server.base_url(), now=self.clock.now()
                )
                await asyncio.to_thread(self.outbox.enqueue, receiver, message)
        self.sent += 1
        return digest
