"""The demo's incident schedule: inject a fault, hold it, heal it, on the clock.

The first incident starts 15 s after start and heals 30 s later, so even a 90-second demo
fires and resolves an alert. After that, one incident every ``period`` seconds, cycling
through the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from watchkeeper.core.clock import Clock


@dataclass(frozen=True, slots=True)
class Incident:
    name: str
    description: str
    duration: float
    inject: Callable[[], None]
    heal: Callable[[], None]


@dataclass(slots=True)
class IncidentRecord:
    name: str
    description: str
    started_at: float
    healed_at: float | None = None


@dataclass(slots=True)
class IncidentSchedule:
    incidents: list[Incident]
    clock: Clock
    first_after: float = 15.0
    period: float = 150.0
    log: list[IncidentRecord] = field(default_factory=list)

    def active(self) -> IncidentRecord | None:
        return next((r for r in reversed(self.log) if r.healed_at is None), None)

    async def run(self) -> None:
        """Run until cancelled. Heals the running incident when cancelled."""
        started = self.clock.now()
        index = 0
        current: Incident | None = None
        try:
            await self.clock.sleep(self.first_after)
            while True:
                incident = self.incidents[index % len(self.incidents)]
                index += 1
                current = incident
                incident.inject()
                self.log.append(
                    IncidentRecord(incident.name, incident.description, self.clock.now())
                )
                await self.clock.sleep(incident.duration)
                incident.heal()
                self.log[-1].healed_at = self.clock.now()
                current = None
                next_start = started + self.first_after + index * self.period
                await self.clock.sleep(max(0.0, next_start - self.clock.now()))
        finally:
            if current is not None:
                current.heal()
                if self.log and self.log[-1].healed_at is None:
                    self.log[-1].healed_at = self.clock.now()
