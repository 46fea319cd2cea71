"""Login rate limiting, per user name and per client address.

Failed logins are rows in the state database, so the limit holds across restarts and
across every instance of a cluster. The limit is checked before the password is, so a
blocked guesser learns nothing; failures are counted for unknown user names too, so the
answer does not reveal which names exist.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.core.errors import UserInputError
from watchkeeper.security.config import LoginRateLimitConfig
from watchkeeper.state.tables.security import login_failures


class LoginRateLimitedError(UserInputError):
    """Too many failed logins; ``retry_after`` is in whole seconds (HTTP 429)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginRateLimiter:
    def __init__(self, config: LoginRateLimitConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock

    def check(self, conn: Connection, username: str, remote_addr: str) -> None:
        """Raise :class:`LoginRateLimitedError` when either limit is reached."""
        now = now_ms(self._clock)
        since = now - int(self.config.window * 1000)
        for column, value, limit, what in (
            (
                login_failures.c.username,
                username[:64],
                self.config.max_failures_per_user,
                "for this user name",
            ),
            (
                login_failures.c.remote_addr,
                remote_addr[:64],
                self.config.max_failures_per_ip,
                "from your address",
            ),
        ):
            count, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(login_failures.c.ts_ms)).where(
                    column == value, login_failures.c.ts_ms > since
                )
            ).one()
            if count >= limit:
                # The window frees a slot when the oldest counted failure leaves it.
                wait_ms = int(oldest) + int(self.config.window * 1000) - now
                retry = max(1, math.ceil(wait_ms / 1000))
                raise LoginRateLimitedError(
                    f"too many failed logins {what} ({count} in "
                    f"{_minutes(self.config.window)}); try again in {retry} seconds",
                    retry_after=retry,
                )

    def record_failure(self, conn: Connection, username: str, remote_addr: str) -> None:
        now = now_ms(self._clock)
        conn.execute(
            sa.insert(login_failures).values(
                ts_ms=now, username=username[:64], remote_addr=remote_addr[:64]
            )
        )
        conn.execute(
            sa.delete(login_failures).where(
                login_failures.c.ts_ms <= now - int(self.config.window * 1000)
            )
        )

    def clear_user(self, conn: Connection, username: str) -> None:
        """After a successful login the user's own counter starts again (the address
        counter does not: one address guessing many names stays limited)."""
        conn.execute(sa.delete(login_failures).where(login_failures.c.username == username[:64]))


def _minutes(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"
