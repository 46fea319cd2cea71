"""Outbox deliveries held by a worker that is gone.

A worker claims a delivery for ``lease`` seconds; if it dies, the row is due again when the
lease runs out (two minutes by default). In a cluster the new leader need not wait that
long: each worker's id is its instance id, and once that instance has been silent for
``member_timeout`` it is not sending any more (an instance stops its leader work as soon as
its session fails, well within that time), so its rows are handed back at once — due now,
the interrupted attempt not counted, exactly as a stopping worker hands its rows back.
"""

from __future__ import annotations

from collections.abc import Collection

from watchkeeper.notify.outbox import hand_back
from watchkeeper.state.db import Database
from watchkeeper.state.tables.notify import notify_deliveries

D = notify_deliveries


def release_orphaned(db: Database, live_owners: Collection[str], now: float) -> int:
    """Hand back the deliveries leased to owners not in ``live_owners``; how many."""
    with db.begin() as conn:
        return hand_back(
            conn, now, D.c.lease_owner.is_not(None), D.c.lease_owner.not_in(sorted(live_owners))
        )
