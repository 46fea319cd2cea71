"""Injected clocks. Every time-dependent component takes a :class:`Clock`.

``SystemClock`` reads the real time; ``FakeClock`` is moved by tests and the timeline
harness, and wakes sleepers in order so that group_wait, escalation deadlines and ``for``
durations can be tested as timelines without real sleeps.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


def now_ms(clock: Clock) -> int:
    return int(clock.now() * 1000)


MAX_TIMESTAMP = 253402300799.0
"""9999-12-31T23:59:59Z: the last moment a date can be written. Inputs beyond it are
refused; stored values beyond it print as it."""


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(min(ts, MAX_TIMESTAMP), tz=UTC)


def rfc3339(ts: float | None) -> str:
    """RFC 3339 with milliseconds and a Z suffix; the zero time for ``None``."""
    if ts is None or ts <= 0:
        return "0001-01-01T00:00:00Z"
    return to_datetime(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to. ``await sleep()`` returns once
    :meth:`advance` has moved the clock past the sleeper's deadline."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._start = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), fut))
        await fut

    def set(self, ts: float) -> None:
        if ts < self._now:
            raise ValueError("a FakeClock never goes backwards")
        self._now = ts

    async def advance(self, seconds: float, *, step: float | None = None) -> None:
        """Move time forward, waking sleepers in deadline order and letting the tasks they
        resume run before time moves on."""
        target = self._now + seconds
        while True:
            await _settle()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not fut.done():
                fut.set_result(None)
        self._now = target
        await _settle()

    @property
    def pending_sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())


async def _settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)
