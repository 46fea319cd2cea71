"""The heartbeat collector: turns the pings recorded in the
:class:`~watchkeeper.collect.heartbeat.book.HeartbeatBook` into series and a status.

Series: ``watchkeeper_heartbeat_success`` (1 while pings arrive in time and the newest
is not a failure), ``watchkeeper_heartbeat_last_ping_timestamp_seconds``,
``watchkeeper_heartbeat_age_seconds`` (since the newest success ping, or since the check
was set up), ``watchkeeper_heartbeat_pings_total``, ``watchkeeper_heartbeat_failures_total``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from croniter import croniter

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    SampleOut,
)
from watchkeeper.collect.heartbeat.book import HeartbeatState
from watchkeeper.collect.heartbeat.config import HeartbeatCheckConfig
from watchkeeper.collect.platform import sample
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.durations import format_duration

P = "watchkeeper_heartbeat"


class HeartbeatCollector:
    kind: ClassVar[str] = "heartbeat"

    def __init__(self, config: HeartbeatCheckConfig, deps: CollectorDeps) -> None:
        self.config = config
        self.book = deps.heartbeats
        self.book.register(config.token.reveal(), config.check_name, deps.clock.now())

    async def close(self) -> None:
        self.book.unregister(self.config.token.reveal())

    def expected_by(self, since: float) -> float:
        """When the next ping is due, given the last one (or the start) at ``since``."""
        cfg = self.config
        if cfg.period is not None:
            due = since + float(cfg.period)
        else:
            start = datetime.fromtimestamp(since, tz=UTC)
            due = float(croniter(cfg.schedule, start).get_next(float))
        return due + float(cfg.grace)

    async def collect(self, ctx: CollectContext) -> CollectResult:
        now = ctx.clock.now()
        state = self.book.state(self.config.token.reveal())
        if state is None:  # re-register after the book was reset
            self.book.register(self.config.token.reveal(), ctx.target.key, now)
            state = self.book.state(self.config.token.reveal()) or HeartbeatState(key="")
        since = state.last_ping if state.last_ping is not None else state.registered_at
        due = self.expected_by(since)
        failed = state.last_fail is not None and state.last_fail >= (state.last_ping or 0.0)
        late = now > due
        detail: dict[str, Any] = {
            "last_ping": rfc3339(state.last_ping) if state.last_ping else None,
            "next_due": rfc3339(due),
            "pings": state.pings,
        }
        out: list[SampleOut] = [
            sample(f"{P}_success", not (late or failed)),
            sample(f"{P}_age_seconds", max(0.0, now - since)),
            sample(f"{P}_pings_total", state.pings),
            sample(f"{P}_failures_total", state.failures),
        ]
        if state.last_ping is not None:
            out.append(sample(f"{P}_last_ping_timestamp_seconds", state.last_ping))
        error = reason = None
        if failed:
            error, reason = "the job reported a failure (/fail ping)", CollectFailure.ASSERTION
        elif late:
            what = "no ping yet" if state.last_ping is None else f"last ping {rfc3339(since)}"
            expect = (
                f"every {format_duration(float(self.config.period))}"
                if self.config.period is not None
                else f"on schedule {self.config.schedule!r}"
            )
            error = (
                f"{what}; expected {expect} with {format_duration(float(self.config.grace))} grace"
            )
            reason = CollectFailure.MISSED
        return CollectResult(
            samples=out, up=True, healthy=error is None, error=error, reason=reason, detail=detail
        )
