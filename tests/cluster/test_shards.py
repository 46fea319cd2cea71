"""Rendezvous hashing of targets over members: stable, balanced, minimal movement."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.cluster.shards import assign, owner_of, shard_sizes, weight

KEYS = [f"svc{i % 40}/check{i}" for i in range(3000)]
MEMBERS = ["vm-101-aaaaaa", "vm-102-bbbbbb", "vm-103-cccccc"]


def test_every_member_computes_the_same_owner_whatever_the_member_order() -> None:
    forward = assign(KEYS, MEMBERS)
    backward = assign(KEYS, list(reversed(MEMBERS)))
    assert forward == backward
    assert set(forward.values()) == set(MEMBERS)


def test_targets_spread_evenly_over_the_members() -> None:
    sizes = shard_sizes(assign(KEYS, MEMBERS))
    for member in MEMBERS:
        assert 0.9 * 1000 < sizes[member] < 1.1 * 1000, sizes


def test_a_member_leaving_moves_only_its_own_targets() -> None:
    before = assign(KEYS, MEMBERS)
    after = assign(KEYS, MEMBERS[:2])
    moved = {k for k in KEYS if before[k] != after[k]}
    assert moved == {k for k in KEYS if before[k] == MEMBERS[2]}


def test_a_member_joining_takes_about_its_share_and_nothing_moves_between_the_others() -> None:
    before = assign(KEYS, MEMBERS)
    after = assign(KEYS, [*MEMBERS, "vm-104-dddddd"])
    moved = [k for k in KEYS if before[k] != after[k]]
    assert all(after[k] == "vm-104-dddddd" for k in moved)
    assert 0.2 * len(KEYS) < len(moved) < 0.3 * len(KEYS)


def test_pinned_targets_go_to_the_leader_and_wait_while_there_is_none() -> None:
    def pinned(key: str) -> bool:
        return key.startswith("cron/")

    keys = ["cron/backup", "web/health"]
    assert assign(keys, MEMBERS, leader=MEMBERS[1], pinned=pinned)["cron/backup"] == MEMBERS[1]
    assert assign(keys, MEMBERS, leader=None, pinned=pinned)["cron/backup"] is None
    assert assign(keys, MEMBERS, leader="vm-gone", pinned=pinned)["cron/backup"] is None
    assert assign(keys, MEMBERS, leader=None, pinned=pinned)["web/health"] in MEMBERS


def test_no_members_means_no_owner() -> None:
    assert owner_of("svc/check", []) is None
    assert assign(["svc/check"], []) == {"svc/check": None}


def test_the_weight_depends_on_both_names() -> None:
    assert weight("a", "bc") != weight("ab", "c")
    assert weight("a", "x") == weight("a", "x")


@settings(max_examples=200, deadline=None)
@given(
    members=st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=8),
    key=st.text(max_size=30),
)
def test_the_owner_is_always_one_of_the_members_and_wins_every_pairing(
    members: set[str], key: str
) -> None:
    owner = owner_of(key, sorted(members))
    assert owner in members
    for other in members:
        assert owner_of(key, sorted({owner, other})) == owner
