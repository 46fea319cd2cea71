"""Sharded collection with compare-and-set claims on real PostgreSQL: every target runs on
exactly one member, targets move when members come and go, never to two at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

import httpx
import pytest

from conftest import require_postgres
from watchkeeper.cluster.collection import (
    ShardedScheduler,
    ShardKeeper,
    status_from_json,
    status_json,
)
from watchkeeper.cluster.replicate import ClusterStore
from watchkeeper.cluster.session import ClusterSession, MemberInfo
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    Collector,
    CollectorDeps,
    CollectResult,
    Target,
)
from watchkeeper.collect.status import TargetStatus
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import CheckStatus
from watchkeeper.core.labels import Labels
from watchkeeper.remote.service import RemoteWriteService
from watchkeeper.tsdb.base import AppendResult, Sample

pytestmark = pytest.mark.postgres

MEMBER_TIMEOUT = 1.0


class QuietCollector:
    kind: ClassVar[str] = "quiet"

    async def collect(self, ctx: CollectContext) -> CollectResult:
        return CollectResult(samples=[({"__name__": "x"}, 1.0, None)])

    async def close(self) -> None:
        return None


def quiet(st: ScheduledTarget, deps: CollectorDeps) -> Collector:
    return QuietCollector()


@dataclass
class Sink:
    """The local store: remembers what was appended, by source."""

    appended: list[tuple[str | None, int]] = field(default_factory=list)

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        batch = list(samples)
        self.appended.append((source, len(batch)))
        return AppendResult(appended=len(batch))

    def subscribe(self, listener: object) -> None:
        return None


def targets(n: int, *, kind: str = "quiet", interval: float = 3600.0) -> list[ScheduledTarget]:
    out = []
    for i in range(n):
        target = Target(
            service=f"svc{i % 7}",
            name=f"check{i}",
            kind=kind,
            job=f"svc{i % 7}",
            instance=f"i{i}",
            interval=interval,
            timeout=1.0,
            labels=Labels({"job": f"svc{i % 7}", "instance": f"i{i}"}),
        )
        out.append(ScheduledTarget(target=target, check=None))  # type: ignore[arg-type]
    return out


@dataclass
class Member:
    name: str
    session: ClusterSession
    scheduler: ShardedScheduler
    keeper: ShardKeeper
    sink: Sink

    async def beat(self) -> None:
        await self.session.heartbeat(
            MemberInfo(self.name, f"http://{self.name}.test", "h", 1, "test")
        )

    async def step(self, live: list[str], leader: str | None = None) -> set[str]:
        await self.beat()
        await self.keeper.step(self.session, live, leader, leading=leader == self.name)
        return self.scheduler.running()


@contextlib.asynccontextmanager
async def members(
    dsn: str, names: Iterable[str], all_targets: list[ScheduledTarget]
) -> AsyncIterator[dict[str, Member]]:
    require_postgres()
    out: dict[str, Member] = {}
    http = httpx.AsyncClient()
    try:
        for name in names:
            session = ClusterSession(dsn, member_id=name, session_timeout=5.0, check_timeout=2.0)
            await session.open()
            sink = Sink()
            store = ClusterStore(sink, RemoteWriteService([]))  # type: ignore[arg-type]
            scheduler = ShardedScheduler(
                store, clock=SystemClock(), http=http, collector_factory=quiet
            )
            await scheduler.start()
            keeper = ShardKeeper(
                scheduler,
                store,
                member_id=name,
                clock=SystemClock(),
                member_timeout=MEMBER_TIMEOUT,
                handover_window=0.5,
            )
            keeper.set_targets(all_targets)
            member = Member(name, session, scheduler, keeper, sink)
            await member.beat()
            out[name] = member
        yield out
    finally:
        for member in out.values():
            await member.scheduler.stop()
            await member.session.close()
        await http.aclose()


def check_disjoint(running: dict[str, set[str]]) -> None:
    seen: dict[str, str] = {}
    for name, keys in running.items():
        for key in keys:
            assert key not in seen, f"{key} runs on {seen[key]} and {name}"
            seen[key] = name


async def owners(session: ClusterSession) -> dict[str, str | None]:
    return {k: owner for k, owner, _ in await session.targets()}


async def test_every_target_runs_on_exactly_one_member_and_the_table_agrees(
    migrated_pg: str,
) -> None:
    all_targets = targets(60)
    async with members(migrated_pg, "abc", all_targets) as m:
        live = ["a", "b", "c"]
        running: dict[str, set[str]] = {}
        for _ in range(2):
            for name, member in m.items():
                running[name] = await member.step(live)
                check_disjoint(running)
        assert set().union(*running.values()) == {t.key for t in all_targets}
        assert all(len(keys) > 5 for keys in running.values())
        table = await owners(m["a"].session)
        for name, keys in running.items():
            assert {k for k, owner in table.items() if owner == name} == keys


async def test_a_leaving_member_hands_over_at_the_next_round_and_one_joining_takes_its_share(
    migrated_pg: str,
) -> None:
    all_targets = targets(60)
    async with members(migrated_pg, "abc", all_targets) as m:
        running = {name: await member.step(["a", "b", "c"]) for name, member in m.items()}
        running = {name: await member.step(["a", "b", "c"]) for name, member in m.items()}
        c_had = set(running["c"])
        await m["c"].scheduler.stop()
        await m["c"].session.leave()
        del running["c"]
        for _ in range(2):  # the first round may still see c's claims being released
            for name in "ab":
                running[name] = await m[name].step(["a", "b"])
                check_disjoint(running)
        assert set().union(*running.values()) == {t.key for t in all_targets}
        assert c_had <= running["a"] | running["b"]
        # c comes back: only c's share moves, and only after a and b let it go
        back = {}
        for name in "abc":
            back[name] = await m[name].step(["a", "b", "c"])
            check_disjoint(back)
        back["c"] = await m["c"].step(["a", "b", "c"])
        check_disjoint(back)
        assert back["c"] == c_had


async def test_a_dead_members_targets_wait_for_its_timeout_then_move(migrated_pg: str) -> None:
    all_targets = targets(30)
    async with members(migrated_pg, "ab", all_targets) as m:
        for _ in range(2):
            for member in m.values():
                await member.step(["a", "b"])
        b_had = m["b"].scheduler.running()
        await m["b"].scheduler.stop()  # b dies: no release, its claims stay
        early = await m["a"].step(["a"])
        assert early.isdisjoint(b_had)  # b might still be collecting: not yet
        await asyncio.sleep(MEMBER_TIMEOUT + 0.2)
        late = await m["a"].step(["a"])
        assert late == {t.key for t in all_targets}


async def test_a_member_stops_a_target_another_member_claimed_from_it(migrated_pg: str) -> None:
    all_targets = targets(20)
    async with members(migrated_pg, "ab", all_targets) as m:
        for _ in range(2):
            for member in m.values():
                await member.step(["a", "b"])
        a_had = m["a"].scheduler.running()
        await asyncio.sleep(MEMBER_TIMEOUT + 0.2)  # a stays silent: b judges it gone
        await m["b"].step(["b"])
        assert a_had <= m["b"].scheduler.running()
        assert await m["a"].step(["a", "b"]) == set()  # a notices and lets go


async def test_pinned_targets_run_on_the_leader(migrated_pg: str) -> None:
    all_targets = targets(6, kind="heartbeat")
    async with members(migrated_pg, "ab", all_targets) as m:
        for _ in range(2):
            a = await m["a"].step(["a", "b"], leader="b")
            b = await m["b"].step(["a", "b"], leader="b")
        assert a == set()
        assert b == {t.key for t in all_targets}


async def test_a_target_handed_over_leaves_no_staleness_markers_behind(migrated_pg: str) -> None:
    all_targets = targets(10)
    async with members(migrated_pg, "ab", all_targets) as m:
        await m["a"].step(["a"])
        await m["a"].step(["a"])
        assert m["a"].scheduler.running() == {t.key for t in all_targets}
        m["a"].sink.appended.clear()
        await m["a"].step(["a", "b"])  # b joins: a gives up b's share
        gone = {t.key for t in all_targets} - m["a"].scheduler.running()
        assert gone
        assert [s for s, _ in m["a"].sink.appended if s in gone] == []


def test_a_published_status_reads_back_equal() -> None:
    [st] = targets(1)
    status = TargetStatus.initial(st.target)
    down = replace(
        status,
        status=CheckStatus.DOWN,
        reason=CollectFailure.TIMEOUT,
        error="no answer",
        detail={"latency_ms": 12.5},
        runs=3,
        last_run=1700000000.5,
    )
    for s in (status, down):
        assert status_from_json(status_json(s)) == s
