"""The scheduled readiness run (``readiness.schedule``): at each ``cron`` time, validate,
store the report, and notify the result through the outbox (event ``report``, so paging
channels skip it) to ``schedule.receivers`` or the root route's receiver.

The runtime starts it when ``readiness.schedule.enabled`` is true::

    scheduler = ReadinessScheduler(service, lambda: rt.config, clock=rt.clock,
                                   outbox=rt.notify.outbox)
    await scheduler.start()     # ... await scheduler.stop()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock
from watchkeeper.core.cron import next_run
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.core.tasks import cancel
from watchkeeper.notify.base import AlertData, NotificationMessage, Outbox, dedup_key
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.config import NotifyWhen
from watchkeeper.readiness.model import Report, Status
from watchkeeper.readiness.service import ReadinessService
from watchkeeper.readiness.store import Trigger

log = logging.getLogger(__name__)
ALERTNAME = "WatchkeeperReadiness"
_SEVERITY = {Status.FAIL: "critical", Status.ERROR: "critical", Status.WARN: "warning"}


def report_message(
    report: Report, run_id: int, receiver: str, *, external_url: str, now: float
) -> NotificationMessage:
    problems = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    status = AlertStatus.FIRING if problems else AlertStatus.RESOLVED
    lines = [f"{r.status.value.upper()} {r.title} ({r.id}): {r.evidence}" for r in problems]
    base = external_url.rstrip("/")
    labels = {
        "alertname": ALERTNAME,
        "severity": _SEVERITY.get(report.status, "info"),
        "receiver": receiver,
    }
    annotations = {
        "summary": f"Production readiness: {report.status.value.upper()} — {report.summary.line()}",
        "description": "\n".join(lines[:20]) or "Every check passed.",
    }
    alert = AlertData(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=report.started_at,
        ends_at=report.finished_at if status is AlertStatus.RESOLVED else None,
        generator_url="",
        fingerprint=f"readiness-{run_id}",
        dashboard_url=f"{base}/readiness" if base else "",
    )
    group_key = f"watchkeeper-readiness:{receiver}"
    return NotificationMessage(
        receiver=receiver,
        status=status,
        alerts=(alert,),
        group_labels={"alertname": ALERTNAME},
        common_labels=dict(labels),
        common_annotations=dict(annotations),
        external_url=external_url,
        group_key=group_key,
        event=NotificationEvent.REPORT,
        dedup_key=dedup_key(group_key, NotificationEvent.REPORT, str(run_id)),
        created_at=now,
        extra={"readiness_run": run_id},
    )


class ReadinessScheduler:
    def __init__(
        self,
        service: ReadinessService,
        config: Callable[[], WatchkeeperConfig],
        *,
        clock: Clock,
        outbox: Outbox | None = None,
    ) -> None:
        self.service = service
        self._config = config
        self.clock = clock
        self.outbox = outbox
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="readiness-schedule")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel(task)

    async def _loop(self) -> None:
        while True:
            settings = self._config().readiness.schedule
            if not settings.enabled:  # re-read after a reload
                await self.clock.sleep(60.0)
                continue
            now = self.clock.now()
            await self.clock.sleep(next_run(settings.cron, now) - now)
            try:
                await self.run_now()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed run must not end the schedule
                log.exception("scheduled readiness run failed")

    async def run_now(self) -> tuple[int, Report]:
        """One scheduled run: validate, store, notify."""
        cfg = self._config()
        settings = cfg.readiness.schedule
        options = RunOptions(
            only=frozenset(settings.only), send_test_alerts=settings.send_test_alerts
        )
        run_id, report = await self.service.run(options, Trigger.SCHEDULE)
        problems = report.status in (Status.FAIL, Status.ERROR, Status.WARN)
        if self.outbox is not None and (settings.notify is NotifyWhen.ALWAYS or problems):
            receivers = settings.receivers or [cfg.alerting.route.receiver or "default"]
            for receiver in receivers:
                message = report_message(
                    report,
                    run_id,
                    receiver,
                    external_url=cfg.server.base_url(),
                    now=self.clock.now(),
                )
                await asyncio.to_thread(self.outbox.enqueue, receiver, message)
        self.runs += 1  # counted once stored and queued: a stop after that loses nothing
        return run_id, report
