"""One instance's place in the cluster: membership, leader election, the heartbeat.

Every ``heartbeat_interval`` the node's beat — on its own thread and its own dedicated
session (:mod:`watchkeeper.cluster.heartbeat`), so that a busy event loop never delays it:

1. renews its member row (re-creating it if it had been reaped);
2. as leader, checks in ``pg_locks`` that its session still holds the leader lock; as a
   follower, tries to take it (``pg_try_advisory_lock``: PostgreSQL elects, the node never
   votes) and, when it gets it, records itself as leader with the next term;
3. reads the member list and the leader row.

On the main event loop, a work loop starts the leader's work once elected and hands each
fresh view to the hooks (collection shards, sample peers, outbox leases), with a second
session of its own.

A follower whose session fails reconnects on the next beat; one that cannot renew its
heartbeat for ``member_timeout - heartbeat_interval`` tells the hooks to stop collecting
(the others may take its targets after ``member_timeout``). A leader whose session fails,
times out or no longer holds the lock is *lost*: the fence closes at once (no leader-owned
write succeeds any more), the hooks stop the leader's work, and the node stops — the
instance then exits so that its supervisor restarts it as a follower. A leader that
stops answering altogether (hung, cut off) is ended by PostgreSQL after
``session_timeout``, and its lock with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from watchkeeper.cluster.config import ClusterConfig
from watchkeeper.cluster.errors import ClusterSessionError
from watchkeeper.cluster.fence import Fence
from watchkeeper.cluster.heartbeat import HeartbeatThread
from watchkeeper.cluster.session import ClusterSession, LeaderRow, MemberInfo, MemberRow
from watchkeeper.core.clock import Clock
from watchkeeper.core.tasks import cancel

log = logging.getLogger(__name__)

PEER_KEY = "peer_key"
REAP_AFTER_TIMEOUTS = 10  # member rows silent for 10 x member_timeout are deleted


class Role(StrEnum):
    STARTING = "starting"
    FOLLOWER = "follower"
    LEADER = "leader"
    LOST = "lost"  # was leader, lost the lock: stopping
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ClusterView:
    """The member list as read in one round."""

    members: tuple[MemberRow, ...]
    live: tuple[str, ...]
    leader: LeaderRow | None
    member_timeout: float

    @property
    def leader_id(self) -> str | None:
        """The recorded leader, if it is live."""
        if self.leader is not None and self.leader.member_id in self.live:
            return self.leader.member_id
        return None

    def member(self, member_id: str) -> MemberRow | None:
        return next((m for m in self.members if m.id == member_id), None)


class NodeHooks(Protocol):
    async def elected(self, term: int) -> None:
        """Start the leader's work (called once, after the fence opened)."""

    async def lost(self, reason: str) -> None:
        """Stop the leader's work at once (the fence is closed already)."""

    async def round(self, view: ClusterView, session: ClusterSession) -> None:
        """Per-round work with the fresh view (may use the session)."""

    async def isolated(self) -> None:
        """The heartbeat could not be renewed for too long: stop collecting."""


class ClusterNode:
    def __init__(
        self,
        dsn: str,
        config: ClusterConfig,
        me: MemberInfo,
        *,
        clock: Clock,
        fence: Fence,
        hooks: NodeHooks,
    ) -> None:
        self.config = config
        self.me = me
        self.clock = clock
        self.fence = fence
        self.hooks = hooks
        self.lock_session = self._session(dsn)  # the heartbeat thread's: holds the lock
        self.session = self._session(dsn)  # the main loop's: claims, statuses, settings
        self.role = Role.STARTING
        self.term: int | None = None
        self.view: ClusterView | None = None
        self.peer_key = ""
        self.lost_reason: str | None = None
        self.last_round = clock.monotonic()  # the last successful beat
        self._heartbeat = HeartbeatThread(self)
        self._main: asyncio.AbstractEventLoop | None = None
        self._pulse_at = clock.monotonic()  # the main loop's last sign of life
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: asyncio.Event | None = None
        self._elected: int | None = None
        self._isolated = False
        self._stalled = False

    def _session(self, dsn: str) -> ClusterSession:
        return ClusterSession(
            dsn,
            member_id=self.me.id,
            session_timeout=float(self.config.session_timeout),
            check_timeout=self.config.check_timeout,
        )

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def running(self) -> bool:
        return self.role in (Role.FOLLOWER, Role.LEADER)

    @property
    def member_timeout(self) -> float:
        return float(self.config.member_timeout)

    # -- lifecycle (main loop) -----------------------------------------------------------

    async def start(self) -> None:
        """Join (a :class:`~watchkeeper.core.errors.ConfigError` if a live instance has
        this id), learn the shared peer key, beat and work once, and start the loops."""
        self._main = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self.session.open()
        await self.session.join(self.me, self.member_timeout)
        self.peer_key = await self.session.setting(PEER_KEY, secrets.token_urlsafe(32))
        self.role = Role.FOLLOWER
        self._pulse_at = self.last_round = self.clock.monotonic()
        await self._heartbeat.start()
        await self._work()
        self._tasks = [
            asyncio.create_task(self._work_loop(), name="cluster-work"),
            asyncio.create_task(self._pulse_loop(), name="cluster-pulse"),
        ]

    async def stop(self) -> None:
        """Leave: release the lock and every target, remove the member row."""
        await self._cancel_tasks()
        if self.role is Role.LEADER:
            self.fence.close("this instance is stopping")
        if self.role is not Role.LOST:
            self.role = Role.STOPPED
        await self._heartbeat.stop()  # its session closes: the lock is released
        try:
            if not self.session.is_open:
                await self.session.open()
            await self.session.leave()
        except ClusterSessionError as exc:
            log.warning("could not leave the cluster cleanly: %s", exc)
        await self.session.close()

    async def _cancel_tasks(self, *, but: asyncio.Task[Any] | None = None) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if task is not but:
                await cancel(task)

    async def _pulse_loop(self) -> None:
        """Show the heartbeat thread that the main loop runs."""
        half = float(self.config.heartbeat_interval) / 2
        while True:
            self._pulse_at = self.clock.monotonic()
            await self.clock.sleep(half)

    async def _work_loop(self) -> None:
        interval = float(self.config.heartbeat_interval)
        wake = self._wake
        while self.running and wake is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval)
            wake.clear()
            await self._work()

    async def _work(self) -> None:
        """Start the leader's work once elected; then the hooks' round with the view."""
        try:
            if self._elected is not None and self.role is Role.LEADER:
                term, self._elected = self._elected, None
                await self.hooks.elected(term)
            view = self.view
            if view is not None and self.running:
                if not self.session.is_open:
                    await self.session.open()
                await self.hooks.round(view, self.session)
        except ClusterSessionError as exc:
            log.warning("cluster round failed: %s", exc)  # the next round reconnects
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a hook's bug must not end membership silently
            log.exception("cluster round failed")
            if self.role is Role.LEADER:
                self._give_up(f"the leader's work failed: {type(exc).__name__}: {exc}")
                await self._after_loss()

    # -- the beat (heartbeat thread) -----------------------------------------------------

    async def beat(self) -> None:
        """Renew membership, confirm or try to take the lock, read the member list."""
        session = self.lock_session
        try:
            stalled = self.clock.monotonic() - self._pulse_at
            if stalled > float(self.config.session_timeout):
                self._stuck(stalled)
                return
            self._stalled = False
            if not session.is_open:
                await session.open()
            await session.heartbeat(self.me)
            if self.role is Role.LEADER:
                if not await session.lock_held():
                    raise ClusterSessionError("the leader lock is no longer held by this session")
            elif self.role is Role.FOLLOWER and await session.try_lock():
                term = await session.take_leadership()
                self.term = term
                self.fence.open(term, session.backend_pid)
                self._elected = term
                self.role = Role.LEADER
                log.info("elected leader of the cluster (term %d)", term)
                self._to_main(self._poke)
            members, leader = await session.view(REAP_AFTER_TIMEOUTS * self.member_timeout)
            self.view = ClusterView(
                members=tuple(members),
                live=tuple(m.id for m in members if m.age <= self.member_timeout),
                leader=leader,
                member_timeout=self.member_timeout,
            )
            self.last_round = self.clock.monotonic()
            self._isolated = False
        except ClusterSessionError as exc:
            self._failed(str(exc))

    def _stuck(self, stalled: float) -> None:
        """The main loop has not run for ``session_timeout``: stop renewing, so that the
        others take over; a leader gives up its lock."""
        if self.role is Role.LEADER:
            self._give_up(f"this instance's event loop has not run for {stalled:.0f}s")
            self._to_main(self._after_loss)
        elif not self._stalled:
            self._stalled = True
            log.error(
                "the event loop has not run for %.0fs: no longer renewing membership", stalled
            )

    def _failed(self, reason: str) -> None:
        if self.role is Role.LEADER:
            self._give_up(reason)
            self._to_main(self._after_loss)
            return
        log.warning("cluster heartbeat failed: %s", reason)
        silent = self.clock.monotonic() - self.last_round
        if not self._isolated and silent >= self.member_timeout - float(
            self.config.heartbeat_interval
        ):
            self._isolated = True
            self._to_main(self.hooks.isolated)

    def _give_up(self, reason: str) -> None:
        """Stop leading at once, from any thread: the fence closes before anything else."""
        if self.role is not Role.LEADER:
            return
        self.fence.close(reason)
        self.role = Role.LOST
        self.lost_reason = reason
        log.error("lost the leadership: %s", reason)

    async def _after_loss(self) -> None:
        """On the main loop: stop the work loop, the heartbeat and the leader's work."""
        await self._cancel_tasks(but=asyncio.current_task())
        await self._heartbeat.stop()
        await self.hooks.lost(self.lost_reason or "lost the leadership")

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _to_main(self, fn: Any) -> None:
        """Run ``fn`` (a coroutine function or a plain one) on the main loop."""
        main = self._main
        if main is None or main.is_closed():
            return

        def run() -> None:
            result = fn()
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._tasks.append(task)

        with contextlib.suppress(RuntimeError):
            main.call_soon_threadsafe(run)

    # -- what the API shows --------------------------------------------------------------

    def status(self, assignment: dict[str, str | None] | None = None) -> dict[str, Any]:
        view = self.view
        members: Sequence[MemberRow] = view.members if view else ()
        live = set(view.live) if view else set()
        leader = view.leader if view else None
        shards: dict[str, list[str]] = {}
        for key, owner in sorted((assignment or {}).items()):
            shards.setdefault(owner or "", []).append(key)
        return {
            "enabled": True,
            "self": self.me.id,
            "role": self.role.value,
            "term": self.term,
            "leader": {
                "id": leader.member_id,
                "term": leader.term,
                "elected_at": leader.elected_at,
                "live": leader.member_id in live,
                "url": next((m.url for m in members if m.id == leader.member_id), None),
            }
            if leader
            else None,
            "members": [
                {
                    "id": m.id,
                    "url": m.url,
                    "hostname": m.hostname,
                    "pid": m.pid,
                    "version": m.version,
                    "live": m.id in live,
                    "leader": leader is not None and leader.member_id == m.id,
                    "started_at": m.started_at,
                    "heartbeat_age_seconds": round(m.age, 3),
                    "targets": len(shards.get(m.id, [])),
                }
                for m in members
            ],
            "shards": {owner or "(unassigned)": keys for owner, keys in shards.items()},
            "settings": self.config.settings(),
            "lost_reason": self.lost_reason,
        }
