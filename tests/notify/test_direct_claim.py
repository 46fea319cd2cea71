"""A running worker takes the rows of a new notification in the enqueue's transaction, so
the send does not wait for its next poll; what it may not take yet waits as before."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.state.tables.notify import notify_deliveries as D
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import Stage, message


def statuses(stage: Stage) -> list[tuple[str, str | None]]:
    with stage.db.connect() as conn:
        rows = conn.execute(sa.select(D.c.status, D.c.lease_owner).order_by(D.c.id)).all()
    return [(r.status, r.lease_owner) for r in rows]


async def test_a_new_row_is_born_claimed_by_the_running_worker(webhook_stage: Stage) -> None:
    await webhook_stage.worker.start()
    queued = webhook_stage.outbox.enqueue("team", message())
    assert queued == 1
    # no await has happened since the enqueue: only the enqueue itself can have claimed it
    assert statuses(webhook_stage) == [(DeliveryStatus.SENDING.value, "w1")]


async def test_without_a_running_worker_the_row_waits_for_a_claim(webhook_stage: Stage) -> None:
    webhook_stage.outbox.enqueue("team", message())
    assert statuses(webhook_stage) == [(DeliveryStatus.PENDING.value, None)]


async def test_a_row_behind_an_unfinished_older_row_of_its_group_is_not_taken_early(
    webhook_stage: Stage, sink: WebhookSink
) -> None:
    sink.faults.hang(times=1)  # the first delivery stays in flight
    await webhook_stage.worker.start()
    webhook_stage.outbox.enqueue("team", message())
    webhook_stage.outbox.enqueue("team", message(event=NotificationEvent.RESOLVED))
    assert statuses(webhook_stage) == [
        (DeliveryStatus.SENDING.value, "w1"),
        (DeliveryStatus.PENDING.value, None),
    ]


async def test_a_stopped_worker_takes_no_more_rows(webhook_stage: Stage) -> None:
    await webhook_stage.worker.start()
    await webhook_stage.worker.stop()
    webhook_stage.outbox.enqueue("team", message())
    assert statuses(webhook_stage) == [(DeliveryStatus.PENDING.value, None)]
