"""Faults through the whole outbox: a receiver that is down for a while, a slow one, a 429
storm, a malformed answer. Whatever happens, every notification is delivered in the end
(and nothing is marked delivered that was not accepted)."""

from __future__ import annotations

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.core.errors import DeliveryFailure
from watchkeeper.notify.records import AttemptOutcome
from watchkeeper.state.db import Database
from watchkeeper.testing.server import free_port
from watchkeeper.testing.slack import FakeSlack
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import Stage, fast_settings, make_stage, message, receiver


async def settle(stage: Stage, clock: FakeClock, *, step: float, rounds: int = 30) -> None:
    for _ in range(rounds):
        await stage.worker.run_once()
        depth = stage.outbox.depth()
        if depth[DeliveryStatus.PENDING] + depth[DeliveryStatus.SENDING] == 0:
            return
        await clock.advance(step)


async def test_a_receiver_down_for_a_while_gets_everything_once_it_is_back(
    sqlite_db: Database, fake_clock: FakeClock
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    stage = make_stage(sqlite_db, [receiver("team", webhook_configs=[{"url": url}])], fake_clock)
    for i in range(3):
        stage.outbox.enqueue("team", message(group=f"G{i}"))
    await stage.worker.run_once()
    await fake_clock.advance(1.0)
    await stage.worker.run_once()
    rows = stage.outbox.list_deliveries().items
    assert {r.status for r in rows} == {DeliveryStatus.PENDING}
    assert {r.last_reason for r in rows} == {DeliveryFailure.CONNECTION}
    with WebhookSink(port=port) as sink:
        await settle(stage, fake_clock, step=5.0)
        names = sorted(d.payload["groupLabels"]["alertname"] for d in sink.deliveries())
    assert names == ["G0", "G1", "G2"]
    assert {r.status for r in stage.outbox.list_deliveries().items} == {DeliveryStatus.DELIVERED}
    await stage.close()


async def test_a_429_storm_is_waited_out_without_losing_or_doubling_anything(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db, [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])], fake_clock
    )
    sink.faults.fail(429, times=25, retry_after=2)
    for i in range(10):
        stage.outbox.enqueue("team", message(group=f"G{i}"))
    await settle(stage, fake_clock, step=2.0)
    names = [d.payload["groupLabels"]["alertname"] for d in sink.deliveries()]
    assert sorted(names) == sorted(f"G{i}" for i in range(10))
    limited = stage.worker.log.query(reason=DeliveryFailure.RATE_LIMITED, limit=1000).items
    assert len(limited) == 25
    assert all(a.retry_at is not None and a.retry_at >= a.at + 2.0 for a in limited)
    await stage.close()


async def test_a_malformed_answer_is_retried_until_the_service_answers_properly(
    sqlite_db: Database, fake_clock: FakeClock
) -> None:
    with FakeSlack() as slack:
        slack.faults.malformed(times=2)
        recv = receiver(
            "team",
            slack_configs=[
                {"app_token": "xoxb-test-token", "app_url": slack.api_url, "channel": "C1"}
            ],
        )
        stage = make_stage(sqlite_db, [recv], fake_clock)
        stage.outbox.enqueue("team", message())
        await settle(stage, fake_clock, step=5.0)
        assert len(slack.messages) == 1
    outcomes = [a.outcome for a in reversed(stage.worker.log.query().items)]
    assert outcomes == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.DELIVERED]
    await stage.close()


async def test_a_slow_receiver_times_out_and_the_notification_is_sent_again(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x"), "timeout": "300ms"}])],
        fake_clock,
        settings=fast_settings(),
    )
    sink.faults.slow(1.5, times=1)
    stage.outbox.enqueue("team", message())
    await settle(stage, fake_clock, step=2.0)
    [row] = stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.DELIVERED
    assert row.attempts == 2
    first = stage.worker.log.query().items[-1]
    assert first.reason is DeliveryFailure.TIMEOUT
    # at least once: the request that timed out is still processed by the receiver
    assert len(sink.wait_for(2, timeout=10.0)) == 2
    await stage.close()


async def test_channel_state_carries_over_between_deliveries_so_resolve_updates_the_message(
    state_db: Database, fake_clock: FakeClock
) -> None:
    from watchkeeper.core.enums import NotificationEvent

    with FakeSlack() as slack:
        recv = receiver(
            "team",
            slack_configs=[
                {"app_token": "xoxb-test-token", "app_url": slack.api_url, "channel": "C1"}
            ],
        )
        stage = make_stage(state_db, [recv], fake_clock)
        stage.outbox.enqueue("team", message(event=NotificationEvent.FIRING))
        stage.outbox.enqueue("team", message(event=NotificationEvent.ACKNOWLEDGED))
        stage.outbox.enqueue("team", message(event=NotificationEvent.RESOLVED))
        await settle(stage, fake_clock, step=1.0)
        [msg] = slack.messages.values()
        assert len(msg.updates) == 2
        assert msg.text.startswith("[RESOLVED]")
    await stage.close()
