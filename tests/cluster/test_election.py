"""Leader election on a PostgreSQL advisory lock, with in-process members on real
PostgreSQL: one leader, a takeover when its session ends, self-fencing followers."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import require_postgres
from watchkeeper.cluster.node import Role
from watchkeeper.core.errors import ConfigError
from watchkeeper.testing import tools

from .support import (
    HEARTBEAT,
    MEMBER_TIMEOUT,
    SESSION_TIMEOUT,
    Hooks,
    make_node,
    terminate_backend,
    until,
)
from .tcpproxy import CuttableProxy

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_postgres()


async def test_one_instance_leads_and_the_others_follow_it(migrated_pg: str) -> None:
    hooks = {name: Hooks() for name in ("a", "b", "c")}
    nodes = [make_node(migrated_pg, name, hooks[name]) for name in hooks]
    try:
        for node in nodes:
            await node.start()
        await until(
            "every member to see three live members",
            lambda: all(n.view is not None and len(n.view.live) == 3 for n in nodes),
        )
        leaders = [n for n in nodes if n.role is Role.LEADER]
        assert len(leaders) == 1
        assert leaders[0] is nodes[0]  # the first to ask got the lock
        assert hooks["a"].elected_terms == [1]
        assert hooks["b"].elected_terms == hooks["c"].elected_terms == []
        assert {n.view.leader_id for n in nodes if n.view} == {"a"}
        assert nodes[1].fence.is_open is False
    finally:
        for node in nodes:
            await node.stop()


async def test_a_follower_takes_over_when_the_leader_session_ends(migrated_pg: str) -> None:
    a_hooks, b_hooks = Hooks(), Hooks()
    a, b = make_node(migrated_pg, "a", a_hooks), make_node(migrated_pg, "b", b_hooks)
    try:
        await a.start()
        await b.start()
        assert a.is_leader
        assert not b.is_leader
        ended = time.monotonic()
        terminate_backend(migrated_pg, a.lock_session.backend_pid)
        await until("b to lead", lambda: b.is_leader)
        takeover = time.monotonic() - ended  # then the next term: the fencing token
        await until("a to notice", lambda: a.role is Role.LOST)
        assert takeover < 2 * HEARTBEAT + 1.0
        await until("b's leader work to start", lambda: b_hooks.elected_terms == [2])
        assert len(a_hooks.lost_reasons) == 1
        assert "cluster session failed" in a_hooks.lost_reasons[0]
        assert a.fence.is_open is False
        assert b.fence.term == 2
    finally:
        await a.stop()
        await b.stop()


async def test_a_stopping_leader_hands_over_and_leaves_the_member_list(migrated_pg: str) -> None:
    a, b = make_node(migrated_pg, "a"), make_node(migrated_pg, "b")
    try:
        await a.start()
        await b.start()
        await a.stop()
        await until("b to lead", lambda: b.is_leader, timeout=2 * HEARTBEAT + 1.0)
        await until(
            "a to be gone", lambda: b.view is not None and [m.id for m in b.view.members] == ["b"]
        )
        assert a.role is Role.STOPPED
    finally:
        await b.stop()


async def test_a_second_live_instance_with_the_same_id_is_refused(migrated_pg: str) -> None:
    first, second = make_node(migrated_pg, "web-1"), make_node(migrated_pg, "web-1")
    try:
        await first.start()
        with pytest.raises(ConfigError) as err:
            await second.start()
        assert err.value.problems == [
            "cluster.instance_id: another live instance already uses 'web-1'; give each "
            "instance its own instance_id, or leave it unset for a generated one"
        ]
    finally:
        await second.session.close()
        await first.stop()


async def test_a_leader_cut_off_from_the_database_stops_leading_and_another_takes_over(
    migrated_pg: str,
) -> None:
    async with CuttableProxy(tools.PG_HOST, tools.PG_PORT) as proxy:
        via_proxy = migrated_pg.replace(f":{tools.PG_PORT}/", f":{proxy.port}/")
        a_hooks = Hooks()
        a, b = make_node(via_proxy, "a", a_hooks), make_node(migrated_pg, "b")
        try:
            await a.start()
            await b.start()
            assert a.is_leader
            cut = time.monotonic()
            proxy.sever()
            await until("a to give up", lambda: a.role is Role.LOST, timeout=5)
            await until("b to lead", lambda: b.is_leader, timeout=5)
            assert time.monotonic() - cut < 5
            assert a_hooks.lost_reasons
            assert a.fence.is_open is False
        finally:
            await a.stop()
            await b.stop()


async def test_a_leader_whose_connection_hangs_loses_the_lock_when_the_session_times_out(
    migrated_pg: str,
) -> None:
    async with CuttableProxy(tools.PG_HOST, tools.PG_PORT) as proxy:
        via_proxy = migrated_pg.replace(f":{tools.PG_PORT}/", f":{proxy.port}/")
        a, b = make_node(via_proxy, "a"), make_node(migrated_pg, "b")
        try:
            await a.start()
            await b.start()
            proxy.stall()  # the connection stays open; PostgreSQL hears nothing more
            stalled = time.monotonic()
            await until("a to give up", lambda: a.role is Role.LOST, timeout=5)
            await until("b to lead", lambda: b.is_leader, timeout=SESSION_TIMEOUT + 3)
            waited = time.monotonic() - stalled
            assert SESSION_TIMEOUT - HEARTBEAT <= waited <= SESSION_TIMEOUT + 3 * HEARTBEAT + 1
            proxy.restore()
        finally:
            await a.stop()
            await b.stop()


async def test_a_follower_that_cannot_renew_its_heartbeat_stops_collecting(
    migrated_pg: str,
) -> None:
    async with CuttableProxy(tools.PG_HOST, tools.PG_PORT) as proxy:
        via_proxy = migrated_pg.replace(f":{tools.PG_PORT}/", f":{proxy.port}/")
        leader, hooks = make_node(migrated_pg, "a"), Hooks()
        follower = make_node(via_proxy, "b", hooks)
        try:
            await leader.start()
            await follower.start()
            proxy.sever()
            cut = time.monotonic()
            await until("b to stop collecting", lambda: hooks.isolations == 1, timeout=5)
            assert time.monotonic() - cut >= MEMBER_TIMEOUT - 2 * HEARTBEAT
            assert follower.role is Role.FOLLOWER  # still trying to get back
            await until(
                "b to be judged gone",
                lambda: leader.view is not None and list(leader.view.live) == ["a"],
            )
            proxy.restore()
            await until(
                "b to be back",
                lambda: leader.view is not None and list(leader.view.live) == ["a", "b"],
            )
        finally:
            await follower.stop()
            await leader.stop()


async def test_a_busy_event_loop_keeps_its_leadership_and_membership(migrated_pg: str) -> None:
    a_hooks = Hooks()
    a, b = make_node(migrated_pg, "a", a_hooks), make_node(migrated_pg, "b")
    try:
        await a.start()
        await b.start()
        time.sleep(MEMBER_TIMEOUT + 0.5)  # the loop is busy for longer than a member may be silent
        await asyncio.sleep(2 * HEARTBEAT)
        assert a.is_leader
        assert a_hooks.lost_reasons == []
        assert b.view is not None
        assert [m.id for m in b.view.members if m.age <= MEMBER_TIMEOUT] == ["a", "b"]
    finally:
        await a.stop()
        await b.stop()


async def test_a_leader_whose_event_loop_is_stuck_gives_up_its_lock(migrated_pg: str) -> None:
    a_hooks = Hooks()
    a, b = make_node(migrated_pg, "a", a_hooks), make_node(migrated_pg, "b")
    try:
        await a.start()
        await b.start()
        time.sleep(SESSION_TIMEOUT + 3 * HEARTBEAT)  # stuck: not a single callback runs
        assert a.role is Role.LOST
        assert a.fence.is_open is False  # closed by the heartbeat thread, loop or not
        await until("b to lead", lambda: b.is_leader)
        await until("a's leader work to stop", lambda: a_hooks.lost_reasons)
        assert "event loop has not run for" in a_hooks.lost_reasons[0]
    finally:
        await a.stop()
        await b.stop()
