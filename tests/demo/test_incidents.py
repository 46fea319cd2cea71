"""The incident schedule as a timeline on a fake clock."""

from __future__ import annotations

import asyncio

from watchkeeper.core.clock import FakeClock
from watchkeeper.demo.incidents import Incident, IncidentSchedule


async def test_incidents_start_on_schedule_and_heal_after_their_duration() -> None:
    clock = FakeClock(start=0)
    state: list[str] = []
    incidents = [
        Incident("a", "first", 30, lambda: state.append("a+"), lambda: state.append("a-")),
        Incident("b", "second", 10, lambda: state.append("b+"), lambda: state.append("b-")),
    ]
    schedule = IncidentSchedule(incidents, clock, first_after=15, period=100)
    task = asyncio.create_task(schedule.run())
    await clock.advance(14)
    assert state == []
    await clock.advance(1)
    assert state == ["a+"]
    assert schedule.active() is not None
    await clock.advance(30)
    assert state == ["a+", "a-"]
    assert schedule.log[0].healed_at == 45
    await clock.advance(70)  # the second starts at 15 + 100
    assert state == ["a+", "a-", "b+"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert state[-1] == "b-", "stopping the schedule heals the running incident"
    assert schedule.active() is None
