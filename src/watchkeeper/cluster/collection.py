"""Collection sharded across the live instances.

:class:`ShardKeeper` runs once per heartbeat on every instance. From the live members it
computes who should collect each configured target (:mod:`watchkeeper.cluster.shards`),
then moves targets with compare-and-set claims in ``cluster_targets`` so that a target is
never collected by two instances at once:

- a target this instance should give up is first stopped here, then released (``owner``
  set to ``NULL``); a target whose next run is imminent is given up right after that run,
  so that the new owner, which claims it within one heartbeat, takes the next slot and no
  slot is missed or run twice;
- a target it should take is claimed only if nobody live holds it (released, never owned,
  or held by an instance silent for ``member_timeout``), and only then started;
- a target it runs but no longer owns in the table (others judged it dead) is stopped at
  once, and an instance that cannot renew its heartbeat stops everything
  (:meth:`ShardKeeper.drop_all`) before the others may take over.

Stopping a target for a hand-over writes no staleness markers: its series go on, written
by the new owner (the store wrapper drops the markers the scheduler writes for retired
targets while the keeper reconfigures it).

:class:`ShardedScheduler` is the scheduler of a cluster member: it runs the member's shard
and reports the status of every target, its own live and the others' as their owners
published them in ``cluster_targets``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from watchkeeper.cluster.session import ClusterSession
from watchkeeper.cluster.shards import assign
from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.core.clock import Clock
from watchkeeper.core.enums import CheckStatus

log = logging.getLogger(__name__)

PINNED_TO_LEADER = frozenset({"heartbeat"})
"""Target kinds collected by the leader: their pings are forwarded to it."""


def status_json(status: TargetStatus) -> str:
    return json.dumps(asdict(status), sort_keys=True, default=str)


def status_from_json(text: str) -> TargetStatus:
    data: dict[str, Any] = json.loads(text)
    data["status"] = CheckStatus(data["status"])
    data["reason"] = CollectFailure(data["reason"]) if data.get("reason") else None
    return TargetStatus(**data)


class ShardedScheduler(Scheduler):
    """A :class:`Scheduler` whose :meth:`statuses` covers every target of the cluster."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["on_status"] = self._changed
        super().__init__(*args, **kwargs)
        self.elsewhere: dict[str, TargetStatus] = {}
        self.dirty: dict[str, TargetStatus] = {}

    def _changed(self, status: TargetStatus) -> None:
        self.dirty[status.key] = status

    def statuses(self) -> list[TargetStatus]:
        local = super().statuses()
        here = {s.key for s in local}
        return local + [s for k, s in sorted(self.elsewhere.items()) if k not in here]

    def running(self) -> set[str]:
        return {t.key for t in self.targets()}


class MarkerFilter(Protocol):
    """The store wrapper's switch for hand-overs (see :class:`ClusterStore`)."""

    def handing_over(self, keys: Iterable[str]) -> Any: ...


class ShardKeeper:
    def __init__(
        self,
        scheduler: ShardedScheduler,
        markers: MarkerFilter,
        *,
        member_id: str,
        clock: Clock,
        member_timeout: float,
        handover_window: float,
    ) -> None:
        self.scheduler = scheduler
        self.markers = markers
        self.member_id = member_id
        self.clock = clock
        self.member_timeout = member_timeout
        self.handover_window = handover_window
        self._targets: dict[str, ScheduledTarget] = {}
        self._deferred_since: dict[str, float] = {}
        self.assignment: dict[str, str | None] = {}

    def set_targets(self, targets: Sequence[ScheduledTarget]) -> None:
        """The configured targets (at start and on reload); applied at the next step."""
        wanted: dict[str, ScheduledTarget] = {}
        for st in targets:
            if st.key in wanted:
                raise ValueError(f"two targets share the key {st.key!r}")
            wanted[st.key] = st
        self._targets = wanted

    @property
    def keys(self) -> list[str]:
        return sorted(self._targets)

    def targets(self) -> list[ScheduledTarget]:
        """Every configured target, whoever collects it."""
        return [self._targets[k] for k in sorted(self._targets)]

    async def step(
        self, session: ClusterSession, live: Sequence[str], leader: str | None, *, leading: bool
    ) -> None:
        """One round: compute the assignment, move targets, publish and read statuses."""
        me = self.member_id
        self.assignment = assign(
            self._targets,
            live,
            leader=leader,
            pinned=lambda key: self._targets[key].target.kind in PINNED_TO_LEADER,
        )
        mine = {k for k, owner in self.assignment.items() if owner == me}
        owned = await session.owned()
        running = self.scheduler.running()
        now = self.clock.now()
        deferred = {k for k in owned - mine if k in running and self._defer(k, now)}
        for k in list(self._deferred_since):
            if k not in deferred:
                del self._deferred_since[k]
        release = sorted((owned - mine) - deferred)
        stop = (running - owned) | (running & set(release))
        if running - owned:
            log.warning(
                "targets taken over by other instances, stopped here: %s",
                ", ".join(sorted(running - owned)[:10]),
            )
        if stop:
            await self._run(running - stop)
        await session.release(release)
        got = await session.claim(sorted(mine - owned), self.member_timeout)
        await self._run((owned & mine) | deferred | got)
        if leading:
            await session.forget_targets(self.keys)
        await self._statuses(session)

    def _defer(self, key: str, now: float) -> bool:
        """Keep a target one more round when its next run is too close to hand it over."""
        status = self.scheduler.status(key)
        if status is None or status.next_run is None or status.interval <= self.handover_window:
            return False  # an interval shorter than a hand-over: waiting would not help
        since = self._deferred_since.setdefault(key, now)
        if now - since > 2 * status.interval + self.handover_window:
            return False  # never ends (a target slower than its interval): let it go
        return status.next_run - now < self.handover_window

    async def _run(self, keys: set[str]) -> None:
        """Make the scheduler run exactly ``keys`` (configured ones)."""
        current = self.scheduler.running()
        wanted = {k for k in keys if k in self._targets}
        if wanted == current:
            return
        with self.markers.handing_over(current - wanted):
            await self.scheduler.reconfigure([self._targets[k] for k in sorted(wanted)])
        for key in current - wanted:
            self.scheduler.dirty.pop(key, None)

    async def drop_all(self) -> None:
        """Stop collecting everything (the heartbeat cannot be renewed: others may take
        over soon); the claims stay in the table until this instance is back or gone."""
        if self.scheduler.running():
            log.warning("cannot renew the cluster heartbeat: stopping collection here")
            await self._run(set())

    async def _statuses(self, session: ClusterSession) -> None:
        dirty, self.scheduler.dirty = self.scheduler.dirty, {}
        running = self.scheduler.running()
        await session.publish({k: status_json(s) for k, s in dirty.items() if k in running})
        elsewhere: dict[str, TargetStatus] = {}
        published: dict[str, str | None] = {k: s for k, _owner, s in await session.targets()}
        for key, st in self._targets.items():
            if key in running:
                continue
            text = published.get(key)
            status: TargetStatus | None = None
            if text:
                try:
                    status = status_from_json(text)
                except (ValueError, TypeError, KeyError):
                    status = None
            elsewhere[key] = status or TargetStatus.initial(st.target)
        self.scheduler.elsewhere = elsewhere
