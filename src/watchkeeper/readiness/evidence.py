"""Evidence from the collectors themselves: every configured target is run once through
the real scheduler and collector (``build_targets`` -> ``Scheduler.run_once``), into an
in-memory store that the PromQL engine queries. The run happens once per validation, the
first time a check asks for it; every other check reuses it.

Push targets (heartbeats) cannot be collected from outside: they are listed in
:attr:`CollectedEvidence.push_targets` and judged from a running instance instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.targets import ScheduledTarget, build_targets
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine
from watchkeeper.tsdb.embedded import EmbeddedStore

PUSH_KINDS = frozenset({"heartbeat"})


@dataclass(frozen=True, slots=True)
class TargetEvidence:
    scheduled: ScheduledTarget
    status: TargetStatus

    @property
    def key(self) -> str:
        return self.scheduled.key

    @property
    def service(self) -> str:
        return self.scheduled.target.service

    @property
    def kind(self) -> str:
        return self.scheduled.target.kind


@dataclass(slots=True)
class CollectedEvidence:
    targets: list[TargetEvidence]
    push_targets: list[ScheduledTarget]
    engine: Engine
    collected_at: float
    _store: EmbeddedStore | None = field(default=None, repr=False)

    def of_kind(self, kind: str) -> list[TargetEvidence]:
        return [t for t in self.targets if t.kind == kind]

    def samples(self, expr: str) -> list[tuple[Labels, float]]:
        """An instant query at the collection time; an unusable expression gives nothing."""
        try:
            return list(self.engine.samples(expr, self.collected_at + 1))
        except QueryError:
            return []

    def value(self, metric: str, target: TargetEvidence, **labels: str) -> float | None:
        """The newest value of ``metric`` collected by ``target`` (first match)."""
        matchers = {"service": target.service, "check": target.scheduled.target.name, **labels}
        selector = ",".join(f'{k}="{_escape(v)}"' for k, v in matchers.items())
        found = self.samples(f"{metric}{{{selector}}}")
        return found[0][1] if found else None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class Evidence:
    """Runs the collectors once, on demand, shared by every check of a validation."""

    def __init__(self, config: WatchkeeperConfig, *, clock: Clock, http: httpx.AsyncClient) -> None:
        self._config = config
        self._clock = clock
        self._http = http
        self._lock = asyncio.Lock()
        self._collected: CollectedEvidence | None = None

    async def collected(self) -> CollectedEvidence:
        async with self._lock:
            if self._collected is None:
                self._collected = await self._collect()
            return self._collected

    async def _collect(self) -> CollectedEvidence:
        scheduled = build_targets(self._config)
        pull = [t for t in scheduled if t.target.kind not in PUSH_KINDS]
        push = [t for t in scheduled if t.target.kind in PUSH_KINDS]
        store = EmbeddedStore.memory(clock=self._clock)
        scheduler = Scheduler(store, clock=self._clock, http=self._http)
        try:
            await scheduler.reconfigure(pull)
            statuses: Sequence[TargetStatus] = await asyncio.gather(
                *(scheduler.run_once(t.key) for t in pull)
            )
        finally:
            await scheduler.stop()
        by_key: Mapping[str, TargetStatus] = {s.key: s for s in statuses}
        return CollectedEvidence(
            targets=[TargetEvidence(t, by_key[t.key]) for t in pull],
            push_targets=push,
            engine=Engine(store, clock=self._clock),
            collected_at=self._clock.now(),
            _store=store,
        )

    def close(self) -> None:
        if self._collected is not None:
            self._collected.close()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
