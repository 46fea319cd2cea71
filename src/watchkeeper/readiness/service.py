"""Readiness runs inside a running Watchkeeper (the API and the daily schedule): one run
at a time, on the runtime's current config, each stored in the state database.

    service = ReadinessService(rt.db, lambda: rt.loaded, clock=rt.clock)
    run_id, report = await service.run(RunOptions(), Trigger.API)
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
    ) -> None:
        self.store = ReadinessStore(db)
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

    def start(self, options: RunOptions, trigger: Trigger) -> asyncio.Task[tuple[int, Report]]:
        """Start a run in the background; ConflictError while one is going."""
        if self.busy or (self.current is not None and not self.current.done()):
            raise ConflictError("a readiness run is already in progress; wait for it to finish")
        task = asyncio.create_task(self.run(options, trigger), name="readiness-run")
        task.add_done_callback(_log_failure)
        self.current = task
        return task


def _log_failure(task: asyncio.Task[tuple[int, Report]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("readiness run failed: %s", task.exception())
