"""Retry timing and rate limits: exponential backoff with jitter that honours Retry-After,
and token buckets on the injected clock."""

from __future__ import annotations

import random
from dataclasses import dataclass

from watchkeeper.core.clock import Clock
from watchkeeper.notify.settings import NotifySettings, RateLimit


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    at: float | None  # when to try again (retry) or None (give up)
    why_not: str = ""


class RetryPolicy:
    def __init__(self, settings: NotifySettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.rng = rng or random.Random()

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        s = self.settings
        base = min(
            float(s.backoff_max),
            float(s.backoff_initial) * s.backoff_multiplier ** max(0, attempts - 1),
        )
        spread = 1.0 + s.jitter * (2.0 * self.rng.random() - 1.0)
        wait = base * spread
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), float(s.max_retry_after)))
        return wait

    def decide(
        self, *, attempts: int, created_at: float, now: float, retry_after: float | None
    ) -> RetryDecision:
        """After a retryable failure: when to retry, or why to give up."""
        s = self.settings
        if attempts >= s.max_attempts:
            return RetryDecision(False, None, f"gave up after {attempts} attempts")
        at = now + self.delay(attempts, retry_after)
        if at - created_at > s.max_age:
            age = now - created_at
            return RetryDecision(
                False, None, f"gave up after {attempts} attempts over {age:.0f}s (max_age)"
            )
        return RetryDecision(True, at)


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; time comes from the injected clock."""

    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self.rate = limit.rate
        self.burst = float(limit.burst)
        self.clock = clock
        self.tokens = self.burst
        self.stamp = clock.monotonic()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def try_take(self) -> bool:
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1.0)

    def wait_time(self) -> float:
        """Seconds until a token is available."""
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate
