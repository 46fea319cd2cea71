"""Readiness runs inside a running Watchkeeper (the API, the dashboard and the daily
schedule): one run at a time, on the runtime's current config, each stored in the state
database. A run a principal starts is audited (``readiness:run``) before it starts.

    service = ReadinessService(rt.db, lambda: rt.loaded, clock=rt.clock, audit=audit_log)
    run_id, report = await service.run(RunOptions(), Trigger.API)
    task = service.start(RunOptions(), Trigger.API, by=principal, remote_addr="192.0.2.7")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import httpx

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import ConflictError
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.model import Report
from watchkeeper.readiness.runner import validate
from watchkeeper.readiness.store import ReadinessStore, Trigger
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.principal import Principal
from watchkeeper.state.db import Database

log = logging.getLogger(__name__)


class ReadinessService:
    def __init__(
        self,
        db: Database,
        loaded: Callable[[], LoadedConfig],
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.db = db
        self.store = ReadinessStore(db)
        self.audit = audit
        self._loaded = loaded
        self.clock = clock
        self._transport = transport
        self._env = env
        self._lock = asyncio.Lock()
        self.current: asyncio.Task[tuple[int, Report]] | None = None

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def run(self, options: RunOptions, trigger: Trigger) -> tuple[int, Report]:
        """Validate now and store the report; waits for a run already going."""
        async with self._lock:
            report = await validate(
                self._loaded(),
                options,
                clock=self.clock,
                transport=self._transport,
                env=self._env,
            )
            run_id = await asyncio.to_thread(self.store.save, report, trigger)
            return run_id, report

    @property
    def running(self) -> bool:
        """A run is going (started here, or waited for by :meth:`run`)."""
        return self.busy or (self.current is not None and not self.current.done())

    def start(
        self,
        options: RunOptions,
        trigger: Trigger,
        *,
        by: Principal | None = None,
        remote_addr: str = "",
    ) -> asyncio.Task[tuple[int, Report]]:
        """Start a run in the background; ConflictError while one is going. A run ``by`` a
        principal is recorded in the audit log first (no record, no run)."""
        if self.running:
            raise ConflictError("a readiness run is already in progress; wait for it to finish")
        if by is not None and self.audit is not None:
            with self.db.begin() as conn:
                self.audit.record(
                    conn,
                    by,
                    AuditAction.READINESS_RUN,
                    "readiness",
                    detail={"trigger": trigger.value, **options.to_dict()},
                    remote_addr=remote_addr,
                )
        task = asyncio.create_task(self.run(options, trigger), name="readiness-run")
        task.add_done_callback(_log_failure)
        self.current = task
        return task


def _log_failure(task: asyncio.Task[tuple[int, Report]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("readiness run failed: %s", task.exception())
