"""The outbox worker: claims due deliveries, sends them through their channel's notifier,
records every attempt, and retries what can be retried.

Only this stage loops: a notifier makes one attempt and says (with a
:class:`~watchkeeper.core.errors.DeliveryError`) whether a failure is retryable; the worker
decides when to try again (exponential backoff with jitter, at least the receiver's
Retry-After), when to give up (``max_attempts`` / ``max_age``, recorded as ``gave_up``), and
how much runs at once (``max_in_flight``, per-channel concurrency, per-integration rate
limits). The runtime starts and stops it::

    worker = OutboxWorker(outbox, notifiers, clock=clock, settings=settings, metrics=m)
    await worker.start()
    ...
    await worker.stop()

Tests drive it step by step with :meth:`run_once` on a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.core.errors import DeliveryError, DeliveryFailure, WatchkeeperError
from watchkeeper.core.tasks import set_event
from watchkeeper.notify.base import DeliveryReceipt
from watchkeeper.notify.config import CHANNEL_FIELDS
from watchkeeper.notify.log import AttemptRecord, ChannelStateStore, DeliveryLog, HealthStore
from watchkeeper.notify.metrics import DeliveryMetrics
from watchkeeper.notify.outbox import Candidate, Claimed, DirectClaim, SqlOutbox
from watchkeeper.notify.pacing import RetryPolicy, TokenBucket
from watchkeeper.notify.records import AttemptOutcome, HealthStatus
from watchkeeper.notify.registry import NotifierSet
from watchkeeper.notify.settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass
class _Write:
    item: Claimed
    receipt: DeliveryReceipt | None
    error: DeliveryError | None
    state: dict[str, Any]
    state_before: str  # "" for a channel that keeps no state
    seconds: float
    done: asyncio.Future[None]


_HEALTH_REFRESH = 5.0  # seconds between health writes while nothing changes
_DEPTH_REFRESH = 1.0
_PRUNE_EVERY = 3600.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class OutboxWorker:
    def __init__(
        self,
        outbox: SqlOutbox,
        notifiers: NotifierSet,
        *,
        clock: Clock,
        settings: NotifySettings | None = None,
        metrics: DeliveryMetrics | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.outbox = outbox
        self.notifiers = notifiers
        self.clock = clock
        self.settings = settings or NotifySettings.model_validate({})
        self.metrics = metrics
        self.worker_id = worker_id or default_worker_id()
        self.policy = RetryPolicy(self.settings, rng)
        self.timer = timer
        self.log = DeliveryLog(outbox.db)
        self.health = HealthStore(outbox.db)
        self.states = ChannelStateStore(outbox.db)
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._by_channel: Counter[str] = Counter()
        self._buckets: dict[tuple[str, str, int], TokenBucket] = {}
        self._health_cache: dict[tuple[str, str, int], tuple[HealthStatus, float]] = {}
        self._retired: list[NotifierSet] = []
        self._writes: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._rate_wait: float | None = None
        self._last_depth = float("-inf")
        self._last_prune = float("-inf")
        outbox.add_listener(self.wake)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="notify-outbox-worker")
        # new rows come straight to this worker, claimed in the enqueue's transaction
        self.outbox.set_direct(
            DirectClaim(
                owner=self.worker_id,
                lease=float(self.settings.lease),
                accept=self._accept_direct,
                deliver=self._adopt,
            )
        )

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish for ``grace`` seconds, then hand the
        rest back to the outbox (due again at once, for this or another process)."""
        self._stopping = True
        self.outbox.set_direct(None)
        self.wake()
        if self._task is not None:
            await self._task
            self._task = None
        pending = list(self._inflight.values())
        if pending:
            _done, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        for retired in self._retired:
            await retired.aclose()
        self._retired.clear()

    def set_notifiers(self, notifiers: NotifierSet) -> None:
        """Swap the notifiers after a config reload; sends in flight finish on the old ones."""
        self._retired.append(self.notifiers)
        self.notifiers = notifiers
        self._buckets.clear()

    def wake(self) -> None:
        """Look for due deliveries now (called after each enqueue; safe from any thread)."""
        if self._wake is not None:
            set_event(self._wake, self._loop)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # -- stepping ------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now, send it, wait for those sends; returns how many."""
        tasks = await self._dispatch()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def drain(self, within: float, *, include_future: bool = True) -> bool:
        """Deliver until nothing is open (or ``within`` real seconds pass); ``True`` when
        everything finished. For the CLI and tests with a real clock."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self.run_once()
            depth = await asyncio.to_thread(self.outbox.depth)
            if depth[DeliveryStatus.PENDING] + depth[DeliveryStatus.SENDING] == 0:
                return True
            if not include_future:
                return False
            due = await asyncio.to_thread(self.outbox.next_due)
            wait = 0.05 if due is None else max(0.0, due - self.clock.now())
            wait = min(wait, self._rate_wait or wait, max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(min(max(wait, 0.005), 0.5))
        return False

    async def _run(self) -> None:
        while not self._stopping:
            launched = 0
            try:
                launched = len(await self._dispatch())
                await self._housekeeping()
            except WatchkeeperError as exc:
                log.warning("notification outbox: %s; retrying", exc)
            except Exception:
                log.exception("notification outbox worker step failed; retrying")
            if self._stopping:
                break
            if launched >= self.settings.batch_size:
                await asyncio.sleep(0)
                continue
            try:
                wait = await self._sleep_for()
            except Exception:  # the database is away: look again after the poll interval
                wait = float(self.settings.poll_interval)
            await self._idle(wait)

    async def _sleep_for(self) -> float:
        wait = float(self.settings.poll_interval)
        try:
            due = await asyncio.to_thread(self.outbox.next_due)
        except WatchkeeperError:
            due = None
        if due is not None:
            wait = min(wait, max(0.0, due - self.clock.now()))
        if self._rate_wait is not None:
            wait = min(wait, self._rate_wait)
        return max(wait, 0.001)

    async def _idle(self, seconds: float) -> None:
        wake = self._wake
        if wake is None:
            await self.clock.sleep(seconds)
            return
        if not wake.is_set():
            sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
            waiter = asyncio.ensure_future(wake.wait())
            _done, pending = await asyncio.wait(
                {sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        wake.clear()

    async def _housekeeping(self) -> None:
        mono = self.clock.monotonic()
        if self.metrics is not None and mono - self._last_depth >= _DEPTH_REFRESH:
            self._last_depth = mono
            self.metrics.set_depth(await asyncio.to_thread(self.outbox.depth))
        if mono - self._last_prune >= _PRUNE_EVERY:
            self._last_prune = mono
            cutoff = self.clock.now() - float(self.settings.retention)
            await asyncio.to_thread(self.outbox.prune, cutoff)

    # -- dispatching ---------------------------------------------------------------------

    def _bucket(self, c: Candidate) -> TokenBucket | None:
        key = (c.receiver, c.channel, c.integration)
        bucket = self._buckets.get(key)
        if bucket is None:
            limit = self.settings.rate_limit_for(c.channel)
            if limit is None:
                return None
            bucket = self._buckets[key] = TokenBucket(limit, self.clock)
        return bucket

    async def _dispatch(self) -> list[asyncio.Task[None]]:
        free = self.settings.max_in_flight - len(self._inflight)
        if free <= 0 or self._stopping:
            return []
        now = self.clock.now()
        limit = min(free, self.settings.batch_size)
        # a snapshot of what is in flight: the choice runs in the database thread
        inflight = set(self._inflight)
        busy: Counter[str] = Counter(self._by_channel)
        taken: dict[int, TokenBucket] = {}
        waits: list[float] = []

        def accept(c: Candidate) -> bool:
            if c.id in inflight:
                return False
            if busy[c.channel] >= self.settings.concurrency_for(c.channel):
                return False
            bucket = self._bucket(c)
            if bucket is not None:
                if not bucket.try_take():
                    waits.append(bucket.wait_time())
                    return False
                taken[c.id] = bucket
            busy[c.channel] += 1
            return True

        claimed = await asyncio.to_thread(
            self.outbox.claim_due,
            now,
            self.worker_id,
            float(self.settings.lease),
            limit,
            accept,
            self.settings.batch_size * 4,
        )
        self._rate_wait = min(waits) if waits else None
        got = {c.id for c in claimed}
        for cid, bucket in taken.items():
            if cid not in got:
                bucket.give_back()  # another worker took it
        return self._launch(claimed)

    def _accept_direct(self, candidates: list[Candidate]) -> list[int]:
        """Which new rows this worker takes at enqueue time (the poll takes the rest)."""
        if self._stopping or self._loop is None or self._loop.is_closed():
            return []
        free = self.settings.max_in_flight - len(self._inflight)
        busy: Counter[str] = Counter(self._by_channel)
        taken: list[int] = []
        for c in candidates:
            if len(taken) >= free:
                break
            if busy[c.channel] >= self.settings.concurrency_for(c.channel):
                continue
            bucket = self._bucket(c)
            if bucket is not None and not bucket.try_take():
                continue
            busy[c.channel] += 1
            taken.append(c.id)
        return taken

    def _adopt(self, claimed: list[Claimed]) -> None:
        """Start sending rows claimed for this worker by an enqueue (any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # the leases run out and the rows are taken again
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._launch(claimed)
        else:
            loop.call_soon_threadsafe(self._launch, claimed)

    def _launch(self, claimed: list[Claimed]) -> list[asyncio.Task[None]]:
        tasks = []
        for item in claimed:
            self._by_channel[item.channel] += 1
            task = asyncio.create_task(self._deliver(item), name=f"notify-delivery-{item.id}")
            self._inflight[item.id] = task
            task.add_done_callback(functools.partial(self._done, item))
            tasks.append(task)
        return tasks

    def _done(self, item: Claimed, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(item.id, None)
        self._by_channel[item.channel] -= 1
        self.wake()

    # -- one delivery --------------------------------------------------------------------

    async def _deliver(self, item: Claimed) -> None:
        try:
            await self._attempt(item)
        except asyncio.CancelledError:
            await asyncio.to_thread(self.outbox.release, [item.id], self.worker_id)
            raise
        except Exception:
            # the attempt could not even be recorded (database down): the lease runs out
            # and the row is due again, so nothing is lost
            log.exception("could not record notification delivery %s", item.id)

    async def _attempt(self, item: Claimed) -> None:
        notifier = self.notifiers.get(item.receiver, item.channel, item.integration)
        stateful = notifier is not None and bool(getattr(notifier, "stateful", True))
        state: dict[str, Any] = {}
        if stateful:
            state = await asyncio.to_thread(
                self.states.load, item.receiver, item.group_id, item.channel, item.integration
            )
        before = json.dumps(state, sort_keys=True, default=str) if stateful else ""
        receipt: DeliveryReceipt | None = None
        error: DeliveryError | None = None
        started = self.timer()
        if notifier is None:
            field = CHANNEL_FIELDS.get(item.channel, item.channel)
            error = DeliveryError(
                f"receiver {item.receiver!r} has no {field}[{item.integration}] any more "
                "(the config changed); not sent",
                reason=DeliveryFailure.CONFIG,
            )
        else:
            try:
                async with asyncio.timeout(float(self.settings.send_timeout)):
                    receipt = await notifier.send(item.message(), state)
            except DeliveryError as exc:
                error = exc
            except TimeoutError:
                error = DeliveryError(
                    f"send took longer than send_timeout ({float(self.settings.send_timeout):g}s)",
                    reason=DeliveryFailure.TIMEOUT,
                )
            except Exception as exc:
                log.exception("%s notifier raised unexpectedly", item.channel)
                redact = getattr(notifier, "redact", None)
                text = f"{type(exc).__name__}: {exc}"
                error = DeliveryError(
                    f"{item.channel} notifier failed unexpectedly: "
                    f"{redact(text) if redact else type(exc).__name__}",
                    reason=DeliveryFailure.OTHER,
                    retryable=True,
                )
        seconds = self.timer() - started
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writes.append(_Write(item, receipt, error, state, before, seconds, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="notify-outbox-writer")
        await done

    async def _flush(self) -> None:
        """Write finished attempts in batches: one transaction for all the sends that
        finished together (the database, not the network, is the shared bottleneck)."""
        while self._writes:
            await asyncio.sleep(0)
            batch, self._writes = self._writes[:256], self._writes[256:]
            try:
                await asyncio.to_thread(self._write_batch, batch)
            except Exception as exc:
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(exc)
                continue
            for w in batch:
                if not w.done.done():
                    w.done.set_result(None)

    def _write_batch(self, batch: list[_Write]) -> None:
        finishes: list[dict[str, Any]] = []
        records: list[AttemptRecord] = []
        with self.outbox.db.begin() as conn:
            for w in batch:
                self._record(conn, w, finishes, records)
            self.outbox.finish_many(conn, self.worker_id, finishes)
            DeliveryLog.record_many(conn, records)

    def _record(
        self,
        conn: Connection,
        w: _Write,
        finishes: list[dict[str, Any]],
        records: list[AttemptRecord],
    ) -> None:
        item, receipt, error, state = w.item, w.receipt, w.error, w.state
        state_before, seconds = w.state_before, w.seconds
        now = self.clock.now()
        attempt = item.attempts + 1
        next_at: float | None = None
        reason = error.reason if error else None
        status_code = receipt.status_code if receipt else (error.status_code if error else None)
        text = str(error) if error else None
        if receipt is not None:
            outcome = AttemptOutcome.SKIPPED if receipt.skipped else AttemptOutcome.DELIVERED
            status = DeliveryStatus.DELIVERED
            state = {**state, **receipt.state}
        elif error is not None and error.retryable:
            decision = self.policy.decide(
                attempts=attempt, created_at=item.created_at, now=now, retry_after=error.retry_after
            )
            if decision.retry:
                outcome, status, next_at = AttemptOutcome.RETRY, DeliveryStatus.PENDING, decision.at
            else:
                outcome, status = AttemptOutcome.GAVE_UP, DeliveryStatus.FAILED
                text = f"{text}; {decision.why_not}"
        else:
            outcome, status = AttemptOutcome.FAILED, DeliveryStatus.FAILED
        summary = receipt.summary if receipt else None
        key = (item.receiver, item.channel, item.integration)
        finished = now if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED) else None
        finishes.append(
            {
                "id": item.id,
                "version": item.version,
                "status": status.value,
                "attempts": attempt,
                "now": now,
                "next": next_at,
                "finished": finished,
                "reason": reason.value if reason else None,
                "error": text,
                "status_code": status_code,
                "summary": summary,
            }
        )
        records.append(
            AttemptRecord(
                delivery_id=item.id,
                receiver=item.receiver,
                channel=item.channel,
                integration=item.integration,
                event=item.event,
                dedup_key=item.dedup_key,
                group_id=item.group_id,
                payload_digest=item.payload_digest,
                attempt=attempt,
                outcome=outcome,
                status_code=status_code,
                latency_ms=round(seconds * 1000.0, 3),
                reason=reason,
                error=text,
                response=summary,
                retry_at=next_at,
                is_test=item.is_test,
                worker=self.worker_id,
                at=now,
            )
        )
        health = self._update_health(conn, key, now, outcome, reason, text, status_code)
        after = json.dumps(state, sort_keys=True, default=str) if state_before else ""
        if after != state_before:
            ChannelStateStore.save(
                conn, item.receiver, item.group_id, item.channel, item.integration, state, now
            )
        if self.metrics is not None:
            self.metrics.observe(item.channel, outcome, reason.value if reason else None, seconds)
            if health is not None:
                self.metrics.set_health(*key, health)

    def _update_health(
        self,
        conn: Any,
        key: tuple[str, str, int],
        now: float,
        outcome: AttemptOutcome,
        reason: DeliveryFailure | None,
        text: str | None,
        status_code: int | None,
    ) -> HealthStatus | None:
        ok = outcome in (AttemptOutcome.DELIVERED, AttemptOutcome.SKIPPED)
        cached = self._health_cache.get(key)
        mono = self.clock.monotonic()
        if (
            ok
            and cached
            and cached[0] is HealthStatus.HEALTHY
            and mono - cached[1] < _HEALTH_REFRESH
        ):
            return None
        status = HealthStore.update(
            conn,
            receiver=key[0],
            channel=key[1],
            integration=key[2],
            now=now,
            outcome=outcome,
            reason=reason,
            error=text,
            status_code=status_code,
        )
        self._health_cache[key] = (status, mono)
        return status
