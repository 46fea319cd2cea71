"""Fencing on real PostgreSQL: leader-owned writes need the lock and the current term, in
the same transaction; outbox rows leased to instances that are gone are handed back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from conftest import require_postgres
from watchkeeper.cluster.errors import ClusterSessionError, NotLeaderError
from watchkeeper.cluster.fence import Fence, FencedDatabase
from watchkeeper.cluster.leases import release_orphaned
from watchkeeper.cluster.session import ClusterSession
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.state.db import Database, postgres_url
from watchkeeper.state.tables.cluster import cluster_settings
from watchkeeper.state.tables.notify import notify_deliveries, notify_messages

from .support import terminate_backend

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(migrated_pg: str) -> Iterator[Database]:
    require_postgres()
    database = Database(postgres_url(migrated_pg))
    try:
        yield database
    finally:
        database.dispose()


def session(dsn: str, member: str) -> ClusterSession:
    return ClusterSession(dsn, member_id=member, session_timeout=5.0, check_timeout=2.0)


async def elect(dsn: str, member: str) -> tuple[ClusterSession, Fence]:
    s = session(dsn, member)
    await s.open()
    assert await s.try_lock()
    fence = Fence(member)
    fence.open(await s.take_leadership(), s.backend_pid)
    return s, fence


def write(db: Database, name: str) -> None:
    with db.begin() as conn:
        conn.execute(cluster_settings.insert().values(name=name, value="v"))


def names(db: Database) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(sa.select(cluster_settings.c.name)).scalars())


async def test_the_leader_writes_and_a_follower_is_refused_before_anything_is_written(
    migrated_pg: str, db: Database
) -> None:
    s, fence = await elect(migrated_pg, "a")
    try:
        write(FencedDatabase(db, fence), "by-leader")
        with pytest.raises(NotLeaderError) as err:
            write(FencedDatabase(db, Fence("b")), "by-follower")
        assert str(err.value) == (
            "not the leader (this instance is a follower); leader-owned state is written "
            "only by the leader"
        )
        assert names(db) == {"by-leader"}
    finally:
        await s.close()


async def test_a_leader_whose_lock_session_ended_cannot_write_even_before_a_new_election(
    migrated_pg: str, db: Database
) -> None:
    s, fence = await elect(migrated_pg, "a")
    try:
        fenced = FencedDatabase(db, fence)
        write(fenced, "before")
        terminate_backend(migrated_pg, s.backend_pid)
        with pytest.raises(NotLeaderError, match="the leader lock's session ended"):
            write(fenced, "after")
        assert fence.is_open is False  # and the fence stays shut
        with pytest.raises(NotLeaderError, match=r"this instance is a follower|session ended"):
            write(fenced, "again")
        assert names(db) == {"before"}
    finally:
        await s.close()


async def test_an_old_leader_cannot_write_in_the_new_leaders_term(
    migrated_pg: str, db: Database
) -> None:
    old, old_fence = await elect(migrated_pg, "a")
    stale = FencedDatabase(db, old_fence)
    await old.close()
    new, new_fence = await elect(migrated_pg, "b")
    try:
        old_fence.open(1, new.backend_pid)  # even with the lock's pid, the term is stale
        with pytest.raises(NotLeaderError, match="the leader is b in term 2"):
            write(stale, "stale")
        write(FencedDatabase(db, new_fence), "current")
        assert names(db) == {"current"}
    finally:
        await new.close()


async def test_reads_through_the_fence_work_on_a_follower(db: Database) -> None:
    write(db, "x")
    follower = FencedDatabase(db, Fence("b"))
    with follower.connect() as conn:
        assert conn.execute(sa.select(cluster_settings.c.value)).scalar_one() == "v"
    follower.dispose()  # the engine belongs to the base database
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cluster_settings)).scalar()


def test_deliveries_leased_to_gone_instances_are_handed_back_and_no_others(
    db: Database,
) -> None:
    now = 1000.0
    with db.begin() as conn:
        message = conn.execute(
            notify_messages.insert()
            .values(
                receiver="hook",
                dedup_key="k",
                group_key="{}:{}",
                group_id="g",
                event="firing",
                payload="{}",
                payload_digest="d",
                created_at=now,
            )
            .returning(notify_messages.c.id)
        ).scalar_one()
        rows = [
            ("sending", "gone-1", 0),
            ("sending", "a", 1),
            ("pending", None, 2),
            ("delivered", None, 3),
        ]
        for status, owner, integration in rows:
            conn.execute(
                notify_deliveries.insert().values(
                    message_id=message,
                    receiver="hook",
                    channel="webhook",
                    integration=integration,
                    group_id="g",
                    dedup_key="k",
                    event="firing",
                    status=status,
                    attempts=1,
                    version=3,
                    created_at=now,
                    updated_at=now,
                    next_attempt_at=now + 50,
                    lease_owner=owner,
                    lease_until=now + 120 if owner else None,
                )
            )
    assert release_orphaned(db, ["a", "b"], now + 5) == 1
    with db.connect() as conn:
        got = {
            r.integration: r for r in conn.execute(sa.select(notify_deliveries)).mappings().all()
        }
    handed_back = got[0]
    assert handed_back["status"] == DeliveryStatus.PENDING.value
    assert handed_back["lease_owner"] is None
    assert handed_back["next_attempt_at"] == now + 5  # due at once
    assert handed_back["attempts"] == 1  # the interrupted attempt is not counted
    assert handed_back["version"] == 4
    assert got[1]["status"] == "sending"
    assert got[1]["lease_owner"] == "a"
    assert [got[2]["status"], got[3]["status"]] == ["pending", "delivered"]


async def test_a_lost_session_is_noticed_by_its_next_query(migrated_pg: str) -> None:
    s = session(migrated_pg, "a")
    await s.open()
    try:
        terminate_backend(migrated_pg, s.backend_pid)
        with pytest.raises(ClusterSessionError, match="cluster session failed"):
            await s.lock_held()
        assert s.is_open is False
    finally:
        await s.close()
