"""The collection scheduler.

Each target runs in its own task. Runs happen at a stable phase within the interval
(``offset = hash(target key) mod interval``, as Prometheus spreads scrapes), each bounded
by the target's timeout on the injected clock. A run is awaited before the next one is
scheduled, so a slow target never overlaps itself: the slots it misses are counted as
skipped. After each run the scheduler appends the samples, the synthetic series (``up``,
``scrape_duration_seconds``, ...) and staleness markers for series that disappeared, and
replaces the target's :class:`~watchkeeper.collect.status.TargetStatus`.

:meth:`Scheduler.reconfigure` swaps the target list atomically: unchanged targets keep
their task, phase, collector and status; removed targets get staleness markers for all
their series.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Protocol

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper.collect import series as series_mod
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    Collector,
    CollectorDeps,
    CollectResult,
    TargetError,
)
from watchkeeper.collect.heartbeat.book import HeartbeatBook
from watchkeeper.collect.metrics import SchedulerMetrics
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.core.enums import CheckStatus
from watchkeeper.core.labels import Labels
from watchkeeper.core.tasks import cancel
from watchkeeper.tsdb.base import AppendResult, Sample

log = logging.getLogger(__name__)


class SampleSink(Protocol):
    """The part of :class:`~watchkeeper.tsdb.base.SeriesStore` the scheduler uses."""

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult: ...


CollectorFactory = Callable[[ScheduledTarget, CollectorDeps], Collector]
StatusListener = Callable[[TargetStatus], None]


def stable_offset(key: str, interval: float) -> float:
    """Seconds into each interval at which ``key`` runs; the same in every process."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return fraction * interval


@dataclass(eq=False)
class _Runner:
    scheduled: ScheduledTarget
    collector: Collector
    status: TargetStatus
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    series: AbstractSet[Labels] = field(default_factory=set)  # tracked by staleness
    merged: series_mod.MergeCache = field(default_factory=series_mod.MergeCache)
    task: asyncio.Task[None] | None = None


class _Timeout(Exception):
    pass


class Scheduler:
    def __init__(
        self,
        store: SampleSink,
        *,
        clock: Clock,
        http: httpx.AsyncClient,
        registry: CollectorRegistry | None = None,
        heartbeats: HeartbeatBook | None = None,
        collector_factory: CollectorFactory | None = None,
        on_status: StatusListener | None = None,
        client_per_target: bool = True,
    ) -> None:
        self._store = store
        self._clock = clock
        self._http = http
        self._deps = CollectorDeps(
            clock=clock,
            http=http,
            heartbeats=heartbeats or HeartbeatBook(),
            client_per_target=client_per_target,
        )
        if collector_factory is None:
            from watchkeeper.collect.registry import build_collector

            collector_factory = build_collector
        self._factory = collector_factory
        self._metrics = SchedulerMetrics(registry if registry is not None else CollectorRegistry())
        self._on_status = on_status
        self._runners: dict[str, _Runner] = {}
        self._running = False
        self._swap = asyncio.Lock()

    # ------------------------------------------------------------------ public API
    @property
    def deps(self) -> CollectorDeps:
        return self._deps

    def statuses(self) -> list[TargetStatus]:
        return [r.status for r in self._runners.values()]

    def status(self, key: str) -> TargetStatus | None:
        runner = self._runners.get(key)
        return runner.status if runner else None

    def targets(self) -> list[ScheduledTarget]:
        return [r.scheduled for r in self._runners.values()]

    async def start(self, targets: Sequence[ScheduledTarget] = ()) -> None:
        """Build collectors for ``targets`` and start their loops."""
        self._running = True
        await self.reconfigure(targets)

    async def reconfigure(self, targets: Sequence[ScheduledTarget]) -> None:
        """Replace the target list atomically (see the module docstring)."""
        async with self._swap:
            wanted: dict[str, ScheduledTarget] = {}
            for st in targets:
                if st.key in wanted:
                    raise ValueError(f"two targets share the key {st.key!r}")
                wanted[st.key] = st
            new_runners: dict[str, _Runner] = {}
            retired: list[_Runner] = []
            for key, st in wanted.items():
                old = self._runners.get(key)
                if old is not None and old.scheduled == st:
                    new_runners[key] = old
                    continue
                runner = _Runner(
                    scheduled=st,
                    collector=self._factory(st, self._deps),
                    status=TargetStatus.initial(st.target),
                )
                if old is not None:
                    retired.append(old)
                    if old.scheduled.target.labels == st.target.labels:
                        runner.series = old.series  # the next run marks what vanished
                        old.series = set()
                new_runners[key] = runner
            retired.extend(r for k, r in self._runners.items() if k not in wanted)
            self._runners = new_runners
            for runner in retired:
                await self._retire(runner)
            if self._running:
                for runner in new_runners.values():
                    if runner.task is None:
                        runner.task = asyncio.create_task(
                            self._loop(runner), name=f"collect:{runner.scheduled.key}"
                        )
            self._update_target_gauge()

    async def stop(self) -> None:
        """Stop every loop and close the collectors (no staleness markers: a restart
        continues the series)."""
        self._running = False
        async with self._swap:
            runners = list(self._runners.values())
            for runner in runners:
                await self._cancel(runner)
                await self._close(runner)

    async def run_once(self, key: str) -> TargetStatus:
        """Run one target now (the "check now" button, tests). Waits for a run already
        in progress instead of starting a second one."""
        runner = self._runners.get(key)
        if runner is None:
            raise KeyError(key)
        if runner.lock.locked():
            async with runner.lock:
                return runner.status
        await self._run(runner)
        return runner.status

    # ------------------------------------------------------------------ loop
    async def _loop(self, runner: _Runner) -> None:
        target = runner.scheduled.target
        interval = target.interval
        offset = stable_offset(target.key, interval)
        now = self._clock.now()
        next_at = math.floor(now / interval) * interval + offset
        if next_at < now:
            next_at += interval
        while True:
            self._set_status(runner, replace(runner.status, next_run=next_at))
            await self._clock.sleep(next_at - self._clock.now())
            if runner.lock.locked():  # a run_once() is in progress: skip this slot
                self._skip(runner, 1)
            else:
                await self._run(runner)
            now = self._clock.now()
            next_at += interval
            if next_at <= now:
                missed = math.floor((now - next_at) / interval) + 1
                next_at += missed * interval
                self._skip(runner, missed)

    def _skip(self, runner: _Runner, n: int) -> None:
        self._metrics.skipped.labels(runner.scheduled.target.kind).inc(n)
        self._set_status(runner, replace(runner.status, skipped=runner.status.skipped + n))

    async def _run(self, runner: _Runner) -> None:
        async with runner.lock:
            target = runner.scheduled.target
            started = self._clock.now()
            t0 = self._clock.monotonic()
            ts_ms = now_ms(self._clock)
            ctx = CollectContext(
                target=target, clock=self._clock, http=self._http, scrape_time_ms=ts_ms
            )
            result = await self._collect(runner.collector, ctx)
            duration = max(0.0, self._clock.monotonic() - t0)
            self._metrics.duration.labels(target.kind).observe(duration)
            outcome = "ok" if result.is_healthy else str(result.reason or CollectFailure.INTERNAL)
            self._metrics.runs.labels(target.kind, outcome).inc()
            self._write(runner, result, ts_ms, duration)
            self._record(runner, result, started, duration)

    async def _collect(self, collector: Collector, ctx: CollectContext) -> CollectResult:
        limit = ctx.target.timeout
        try:
            return await self._bounded(collector.collect(ctx), limit)
        except TargetError as exc:
            return CollectResult(up=False, error=str(exc), reason=exc.reason, detail=exc.detail)
        except _Timeout:
            error = TargetError(
                f"no answer within the timeout of {limit:g}s; raise the check's "
                "timeout or find out why the target is slow",
                CollectFailure.TIMEOUT,
            )
            failed = getattr(collector, "failed_result", None)
            if callable(failed):
                result: CollectResult = failed(error, limit)
                return result
            return CollectResult(up=False, error=str(error), reason=error.reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a collector bug must not stop the scheduler
            log.exception("collector %s failed on %s", ctx.target.kind, ctx.target.key)
            return CollectResult(
                up=False,
                error=f"internal error in the {ctx.target.kind} collector: "
                f"{type(exc).__name__}: {exc}",
                reason=CollectFailure.INTERNAL,
            )

    async def _bounded(self, call: Awaitable[CollectResult], limit: float) -> CollectResult:
        """Race the call against ``clock.sleep(limit)`` so timeouts follow the clock."""
        work = asyncio.ensure_future(call)
        timer = asyncio.ensure_future(self._clock.sleep(limit))
        try:
            done, _ = await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            timer.cancel()
            raise
        if work in done:
            timer.cancel()
            return work.result()
        work.cancel()
        with contextlib.suppress(BaseException):
            await work
        raise _Timeout

    # ------------------------------------------------------------------ writing
    def _write(self, runner: _Runner, result: CollectResult, ts_ms: int, duration: float) -> None:
        target = runner.scheduled.target
        samples, tracked = series_mod.labelled(
            target, result.samples, result.honor_labels, ts_ms, runner.merged
        )
        if tracked is runner.series:  # the same series as last run
            gone: AbstractSet[Labels] = frozenset()
            added = 0
        else:
            gone = runner.series - tracked
            added = len(tracked - runner.series)
        kept = len(samples)
        scraped = result.samples_scraped if result.samples_scraped is not None else kept
        out = samples
        out.extend(series_mod.stale_markers(gone, ts_ms))
        out.extend(
            series_mod.synthetic(
                target,
                ts_ms,
                up=result.up,
                duration=duration,
                scraped=scraped,
                post_relabel=kept,
                added=added,
            )
        )
        runner.series = tracked
        self._append(out, target.key)

    def _append(self, samples: list[Sample], source: str) -> None:
        try:
            self._store.append(samples, source=source)
        except Exception:  # the store reports its own errors; collection goes on
            log.exception("store refused samples of %s", source)
            self._metrics.store_errors.inc()
            return
        self._metrics.samples.inc(len(samples))

    def _record(
        self, runner: _Runner, result: CollectResult, started: float, duration: float
    ) -> None:
        old = runner.status
        healthy = result.is_healthy
        error = result.error
        if not healthy and not error:
            error = "the check failed without a reason; see the detail"
        self._set_status(
            runner,
            replace(
                old,
                status=CheckStatus.UP if healthy else CheckStatus.DOWN,
                up=result.up,
                last_run=started,
                last_success=started if healthy else old.last_success,
                duration=duration,
                error=None if healthy and result.error is None else error,
                reason=None if healthy else (result.reason or CollectFailure.INTERNAL),
                detail=dict(result.detail),
                samples=len(result.samples),
                runs=old.runs + 1,
                failures=old.failures + (0 if healthy else 1),
                consecutive_failures=0 if healthy else old.consecutive_failures + 1,
            ),
        )

    def _set_status(self, runner: _Runner, status: TargetStatus) -> None:
        runner.status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("status listener failed")

    # ------------------------------------------------------------------ lifecycle
    async def _retire(self, runner: _Runner) -> None:
        await self._cancel(runner)
        target = runner.scheduled.target
        ts = now_ms(self._clock)
        gone = set(runner.series) | set(series_mod.synthetic_labels(target))
        runner.series = set()
        self._append(series_mod.stale_markers(gone, ts), target.key)
        await self._close(runner)

    async def _cancel(self, runner: _Runner) -> None:
        task, runner.task = runner.task, None
        await cancel(task)

    async def _close(self, runner: _Runner) -> None:
        try:
            await runner.collector.close()
        except Exception:
            log.exception("closing the collector of %s failed", runner.scheduled.key)

    def _update_target_gauge(self) -> None:
        counts: dict[str, int] = {}
        for runner in self._runners.values():
            kind = runner.scheduled.target.kind
            counts[kind] = counts.get(kind, 0) + 1
        self._metrics.targets.clear()
        for kind, n in counts.items():
            self._metrics.targets.labels(kind).set(n)
