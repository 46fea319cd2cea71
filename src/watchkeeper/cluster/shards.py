"""Which live instance collects which target: rendezvous (highest random weight) hashing.

Every instance computes the same assignment from the same member list, with no
coordination: a target goes to the member whose hash of ``(member, target)`` is highest.
When a member joins, only the targets it now wins move to it (about ``1/n`` of them); when
one leaves, only its targets move, spread over the others. Targets that must run where the
pushes arrive (heartbeats: their pings are forwarded to the leader) are pinned to the
leader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence


def weight(member: str, key: str) -> int:
    """The member's score for ``key``: 64 bits of BLAKE2b over both names."""
    digest = hashlib.blake2b(
        member.encode("utf-8") + b"\x00" + key.encode("utf-8"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def owner_of(key: str, members: Sequence[str]) -> str | None:
    """The member that wins ``key`` (``None`` without members); ties go to the smaller id."""
    best: str | None = None
    best_weight = -1
    for member in members:
        w = weight(member, key)
        if w > best_weight or (w == best_weight and best is not None and member < best):
            best, best_weight = member, w
    return best


def assign(
    keys: Iterable[str],
    members: Sequence[str],
    *,
    leader: str | None = None,
    pinned: Callable[[str], bool] = lambda _key: False,
) -> dict[str, str | None]:
    """Owner of each key: pinned keys go to the leader (``None`` until there is one, or
    while the leader is not among ``members``), the rest by rendezvous hashing."""
    live = sorted(set(members))
    out: dict[str, str | None] = {}
    for key in keys:
        if pinned(key):
            out[key] = leader if leader in live else None
        else:
            out[key] = owner_of(key, live)
    return out


def shard_sizes(assignment: Mapping[str, str | None]) -> dict[str, int]:
    """How many keys each owner has (unassigned keys under ``""``)."""
    sizes: dict[str, int] = {}
    for owner in assignment.values():
        sizes[owner or ""] = sizes.get(owner or "", 0) + 1
    return sizes
