"""Cron schedules (five fields, UTC)."""

from __future__ import annotations

from croniter import croniter

from watchkeeper.core.clock import to_datetime


def next_run(cron: str, now: float) -> float:
    """The first cron time strictly after ``now`` (UTC), as epoch seconds."""
    return float(croniter(cron, to_datetime(now)).get_next(float))
