"""One timer wheel for alert management: group flushes, alert expiry, escalation
deadlines, acknowledgement expiry, silences and maintenance windows starting and ending.

Timers are keyed: setting a key again moves its timer. One task runs due timers in
deadline order on the injected clock, so a :class:`~watchkeeper.core.clock.FakeClock`
drives whole timelines deterministically.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable

from watchkeeper.core.clock import Clock
from watchkeeper.core.tasks import cancel

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[object]]


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Hashable]] = []
        self._timers: dict[Hashable, tuple[float, int, Callback]] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sleeping_until: float | None = None
        self._after_burst: list[Callable[[], None]] = []

    def after_burst(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every burst of due timers (batched writes)."""
        self._after_burst.append(callback)

    def call_at(self, when: float, key: Hashable, callback: Callback) -> None:
        """Run ``callback`` at ``when`` (replacing the timer of ``key``, if any)."""
        seq = next(self._seq)
        self._timers[key] = (when, seq, callback)
        heapq.heappush(self._heap, (when, seq, key))
        if self._sleeping_until is None or when < self._sleeping_until:
            self._wake.set()

    def call_soon(self, key: Hashable, callback: Callback) -> None:
        self.call_at(self.clock.now(), key, callback)

    def earliest(self, when: float, key: Hashable, callback: Callback) -> None:
        """Like :meth:`call_at`, but never moves an existing timer later."""
        current = self._timers.get(key)
        if current is None or when < current[0]:
            self.call_at(when, key, callback)

    def cancel(self, key: Hashable) -> None:
        self._timers.pop(key, None)

    def due_at(self, key: Hashable) -> float | None:
        timer = self._timers.get(key)
        return timer[0] if timer is not None else None

    def __len__(self) -> int:
        return len(self._timers)

    def has_due(self) -> bool:
        """True while a timer is due now (a fake-clock timeline can settle on it)."""
        now = self.clock.now()
        return any(when <= now for when, _, _ in self._timers.values())

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="alerting-timers")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel(task)

    async def run_due(self) -> int:
        """Run every timer that is due now; returns how many ran."""
        ran = 0
        while self._heap and self._heap[0][0] <= self.clock.now():
            _, seq, key = heapq.heappop(self._heap)
            timer = self._timers.get(key)
            if timer is None or timer[1] != seq:
                continue
            del self._timers[key]
            ran += 1
            try:
                await timer[2]()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alerting timer %r failed", key)
        if ran:
            for callback in self._after_burst:
                try:
                    callback()
                except Exception:
                    log.exception("alerting after-burst callback failed")
        return ran

    async def _run(self) -> None:
        while True:
            await self.run_due()
            self._drop_stale()
            delay = self._heap[0][0] - self.clock.now() if self._heap else None
            self._wake.clear()
            if delay is not None and delay <= 0:
                continue
            await self._wait(delay)

    def _drop_stale(self) -> None:
        while self._heap:
            _, seq, key = self._heap[0]
            timer = self._timers.get(key)
            if timer is not None and timer[1] == seq:
                return
            heapq.heappop(self._heap)

    async def _wait(self, delay: float | None) -> None:
        waker = asyncio.ensure_future(self._wake.wait())
        if delay is None:
            self._sleeping_until = None
            try:
                await waker
            finally:
                waker.cancel()
            return
        self._sleeping_until = self.clock.now() + delay
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        try:
            await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._sleeping_until = None
            waker.cancel()
            sleeper.cancel()
