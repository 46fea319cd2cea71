"""The durable outbox and its worker, on SQLite and PostgreSQL, against a real webhook
receiver on loopback, with time on a fake clock."""

from __future__ import annotations

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.core.errors import DeliveryFailure, NotFoundError
from watchkeeper.notify.records import AttemptOutcome, HealthStatus
from watchkeeper.state.db import Database
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import Stage, fast_settings, make_stage, message, receiver


def test_enqueue_writes_one_row_per_integration_before_returning(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    recv = receiver(
        "team",
        webhook_configs=[{"url": sink.url_for("a")}, {"url": sink.url_for("b")}],
    )
    stage = make_stage(state_db, [recv], fake_clock)
    assert stage.outbox.enqueue("team", message()) == 2
    rows = stage.outbox.list_deliveries().items
    assert sorted((r.channel, r.integration, r.status) for r in rows) == [
        ("webhook", 0, DeliveryStatus.PENDING),
        ("webhook", 1, DeliveryStatus.PENDING),
    ]


def test_enqueue_of_the_same_dedup_key_again_queues_nothing(webhook_stage_both: Stage) -> None:
    assert webhook_stage_both.outbox.enqueue("team", message()) == 1
    assert webhook_stage_both.outbox.enqueue("team", message()) == 0
    assert len(webhook_stage_both.outbox.list_deliveries().items) == 1


def test_enqueue_for_an_unknown_receiver_names_the_known_ones(webhook_stage: Stage) -> None:
    with pytest.raises(NotFoundError, match=r"unknown receiver 'nope'.*team"):
        webhook_stage.outbox.enqueue("nope", message())


def test_resolved_is_not_queued_for_integrations_without_send_resolved(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    recv = receiver(
        "team",
        webhook_configs=[
            {"url": sink.url_for("a")},
            {"url": sink.url_for("b"), "send_resolved": False},
        ],
    )
    stage = make_stage(sqlite_db, [recv], fake_clock)
    assert stage.outbox.enqueue("team", message(event=NotificationEvent.RESOLVED)) == 1


async def test_worker_posts_the_alertmanager_payload_and_logs_the_attempt(
    webhook_stage: Stage, sink: WebhookSink
) -> None:
    msg = message()
    webhook_stage.outbox.enqueue("team", msg)
    assert await webhook_stage.worker.run_once() == 1
    [got] = sink.deliveries()
    assert got.path == "/team"
    assert got.payload == msg.webhook_payload()
    [row] = webhook_stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.DELIVERED
    assert row.attempts == 1
    [attempt] = webhook_stage.worker.log.query().items
    assert attempt.outcome is AttemptOutcome.DELIVERED
    assert attempt.status_code == 200
    assert attempt.dedup_key == msg.dedup_key
    assert attempt.receiver == "team"
    assert attempt.channel == "webhook"
    assert attempt.response == "200 OK: ok"
    assert len(attempt.payload_digest) == 64
    assert (
        webhook_stage.metric("watchkeeper_notifications_delivered_total", channel="webhook") == 1.0
    )


async def test_server_errors_are_retried_with_exponential_backoff_until_delivered(
    webhook_stage: Stage, sink: WebhookSink
) -> None:
    sink.faults.fail(500, times=2)
    webhook_stage.outbox.enqueue("team", message())
    clock = webhook_stage.clock
    start = clock.now()
    assert await webhook_stage.worker.run_once() == 1
    [row] = webhook_stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.PENDING
    assert row.next_attempt_at == pytest.approx(start + 1.0)  # backoff_initial, no jitter
    assert row.last_reason is DeliveryFailure.SERVER_ERROR
    assert await webhook_stage.worker.run_once() == 0  # not due yet
    await clock.advance(1.0)
    assert await webhook_stage.worker.run_once() == 1
    [row] = webhook_stage.outbox.list_deliveries().items
    assert row.next_attempt_at == pytest.approx(clock.now() + 2.0)  # doubled
    await clock.advance(2.0)
    assert await webhook_stage.worker.run_once() == 1
    [row] = webhook_stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.DELIVERED
    outcomes = [a.outcome for a in reversed(webhook_stage.worker.log.query().items)]
    assert outcomes == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.DELIVERED]
    assert len(sink.deliveries()) == 1


async def test_rate_limited_answer_waits_at_least_retry_after(
    webhook_stage: Stage, sink: WebhookSink
) -> None:
    sink.faults.fail(429, times=1, retry_after=30)
    webhook_stage.outbox.enqueue("team", message())
    await webhook_stage.worker.run_once()
    [row] = webhook_stage.outbox.list_deliveries().items
    assert row.last_reason is DeliveryFailure.RATE_LIMITED
    assert row.next_attempt_at == pytest.approx(webhook_stage.clock.now() + 30.0)
    await webhook_stage.clock.advance(29.0)
    assert await webhook_stage.worker.run_once() == 0
    await webhook_stage.clock.advance(1.0)
    assert await webhook_stage.worker.run_once() == 1
    assert len(sink.deliveries()) == 1


async def test_client_error_is_permanent_and_marks_the_integration_unhealthy_until_success(
    webhook_stage_both: Stage, sink: WebhookSink
) -> None:
    sink.faults.fail(404, times=1, body="no such hook")
    webhook_stage_both.outbox.enqueue("team", message())
    await webhook_stage_both.worker.run_once()
    [row] = webhook_stage_both.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.FAILED
    assert row.last_reason is DeliveryFailure.CLIENT_ERROR
    assert "HTTP 404" in (row.last_error or "")
    health = webhook_stage_both.worker.health.get("team", "webhook", 0)
    assert health.status is HealthStatus.UNHEALTHY
    assert health.last_status_code == 404
    await webhook_stage_both.clock.advance(3600.0)
    assert await webhook_stage_both.worker.run_once() == 0  # a failed row is never retried
    webhook_stage_both.outbox.enqueue("team", message(discriminator="second"))
    await webhook_stage_both.worker.run_once()
    assert webhook_stage_both.worker.health.get("team", "webhook", 0).status is HealthStatus.HEALTHY


async def test_retryable_failures_give_up_after_max_attempts_and_say_so(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])],
        fake_clock,
        settings=fast_settings(max_attempts=3),
    )
    sink.faults.fail(503, times=10)
    stage.outbox.enqueue("team", message())
    for _ in range(3):
        await stage.worker.run_once()
        await fake_clock.advance(60.0)
    [row] = stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.FAILED
    assert row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")
    last = stage.worker.log.query(limit=1).items[0]
    assert last.outcome is AttemptOutcome.GAVE_UP
    assert stage.worker.health.get("team", "webhook", 0).status is HealthStatus.DEGRADED
    assert stage.metric("watchkeeper_notifications_failed_total", channel="webhook") == 1.0
    await stage.close()


async def test_retryable_failures_give_up_when_the_next_try_would_exceed_max_age(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])],
        fake_clock,
        settings=fast_settings(max_age=10.0, backoff_initial=4.0),
    )
    sink.faults.fail(500, times=10)
    stage.outbox.enqueue("team", message())
    await stage.worker.run_once()  # retry at +4
    await fake_clock.advance(4.0)
    await stage.worker.run_once()  # next would be at +12 > max_age 10
    [row] = stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.FAILED
    assert "max_age" in (row.last_error or "")
    await stage.close()


async def test_later_events_of_a_group_wait_for_the_earlier_ones(
    webhook_stage_both: Stage, sink: WebhookSink
) -> None:
    stage = webhook_stage_both
    sink.faults.fail(500, times=1)
    stage.outbox.enqueue("team", message(event=NotificationEvent.FIRING))
    stage.outbox.enqueue("team", message(event=NotificationEvent.RESOLVED))
    assert await stage.worker.run_once() == 1  # the firing fails; the resolved waits
    stage.outbox.enqueue("team", message(group="Other"))
    assert await stage.worker.run_once() == 1  # another group is not held up
    assert [d.payload["groupLabels"]["alertname"] for d in sink.deliveries()] == ["Other"]
    await stage.clock.advance(1.0)
    assert await stage.worker.run_once() == 1  # the firing retry only
    assert await stage.worker.run_once() == 1  # now the resolved
    statuses = [
        d.status for d in sink.deliveries() if d.payload["groupLabels"]["alertname"] != "Other"
    ]
    assert statuses == ["firing", "resolved"]


async def test_rate_limit_per_integration_spreads_sends_over_time(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])],
        fake_clock,
        settings=fast_settings(rate_limits={"webhook": {"rate": 1.0, "burst": 2}}),
    )
    for i in range(5):
        stage.outbox.enqueue("team", message(group=f"G{i}"))
    assert await stage.worker.run_once() == 2
    assert await stage.worker.run_once() == 0
    await fake_clock.advance(1.0)
    assert await stage.worker.run_once() == 1
    await fake_clock.advance(2.0)
    assert await stage.worker.run_once() == 2
    assert len(sink.deliveries()) == 5
    await stage.close()


async def test_a_delivery_claimed_by_a_dead_process_is_reclaimed_after_the_lease(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    recv = [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])]
    dead = make_stage(state_db, recv, fake_clock, worker_id="dead")
    dead.outbox.enqueue("team", message())
    ids = [c.id for c in dead.outbox.candidates(fake_clock.now(), 10)]
    assert len(dead.outbox.claim(ids, "dead", fake_clock.now(), lease=30.0)) == 1
    await dead.worker.notifiers.aclose()  # the process dies here, before sending

    alive = make_stage(state_db, recv, fake_clock, worker_id="alive")
    assert await alive.worker.run_once() == 0  # still leased
    await fake_clock.advance(31.0)
    assert await alive.worker.run_once() == 1
    assert len(sink.deliveries()) == 1
    [row] = alive.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.DELIVERED
    await alive.close()


async def test_pending_deliveries_survive_a_restart_and_go_out_from_the_new_process(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    recv = [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])]
    first = make_stage(state_db, recv, fake_clock, worker_id="first")
    sink.faults.fail(500, times=1)
    first.outbox.enqueue("team", message())
    first.outbox.enqueue("team", message(group="Second"))
    await first.worker.run_once()  # one delivered-or-failed each; the 500 is pending
    await first.close()
    assert first.outbox.enqueue("team", message()) == 0  # a restart re-sends nothing

    second = make_stage(state_db, recv, fake_clock, worker_id="second")
    await fake_clock.advance(5.0)
    await second.worker.run_once()
    assert {d.status for d in second.outbox.list_deliveries().items} == {DeliveryStatus.DELIVERED}
    assert len(sink.deliveries()) == 2
    await second.close()


def test_concurrent_claims_never_hand_a_row_to_two_workers(
    state_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    import threading

    recv = [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])]
    stage = make_stage(state_db, recv, fake_clock)
    for i in range(40):
        stage.outbox.enqueue("team", message(group=f"G{i}"))
    ids = [c.id for c in stage.outbox.candidates(fake_clock.now(), 100)]
    got: dict[str, list[int]] = {}

    def claim(owner: str) -> None:
        got[owner] = [c.id for c in stage.outbox.claim(ids, owner, fake_clock.now(), 30.0)]

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for ids_ in got.values() for i in ids_]
    assert sorted(claimed) == sorted(ids)  # every row once, none twice


async def test_a_removed_integration_fails_the_delivery_with_a_config_reason(
    sqlite_db: Database, sink: WebhookSink, fake_clock: FakeClock
) -> None:
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])],
        fake_clock,
    )
    stage.outbox.enqueue("team", message())
    from watchkeeper.notify.channel import NotifierContext
    from watchkeeper.notify.registry import build_notifiers

    stage.worker.set_notifiers(build_notifiers([receiver("team")], NotifierContext()))
    await stage.worker.run_once()
    [row] = stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.FAILED
    assert row.last_reason is DeliveryFailure.CONFIG
    assert "webhook_configs[0]" in (row.last_error or "")
    await stage.close()


async def test_delivery_log_filters_and_pages_newest_first(
    webhook_stage_both: Stage, sink: WebhookSink
) -> None:
    sink.faults.fail(500, times=1)
    for i in range(5):
        webhook_stage_both.outbox.enqueue("team", message(group=f"G{i}"))
    await webhook_stage_both.worker.run_once()
    log = webhook_stage_both.worker.log
    assert len(log.query().items) == 5
    assert [a.outcome for a in log.query(outcome=AttemptOutcome.RETRY).items] == [
        AttemptOutcome.RETRY
    ]
    page1 = log.query(limit=2)
    page2 = log.query(limit=2, before=page1.next_before)
    page3 = log.query(limit=2, before=page2.next_before)
    ids = [a.id for a in page1.items + page2.items + page3.items]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 5
    assert page3.next_before is None
    assert log.query(receiver="other").items == []


async def test_outbox_depth_counts_open_deliveries(webhook_stage: Stage, sink: WebhookSink) -> None:
    sink.faults.fail(500, times=1)
    webhook_stage.outbox.enqueue("team", message())
    webhook_stage.outbox.enqueue("team", message(group="B"))
    assert webhook_stage.outbox.depth()[DeliveryStatus.PENDING] == 2
    await webhook_stage.worker.run_once()
    depth = webhook_stage.outbox.depth()
    assert depth[DeliveryStatus.PENDING] == 1
    assert depth[DeliveryStatus.DELIVERED] == 1


async def test_metrics_count_attempts_failures_by_reason_latency_and_depth(
    webhook_stage: Stage, sink: WebhookSink
) -> None:
    sink.faults.fail(429, times=1, retry_after=1)
    webhook_stage.outbox.enqueue("team", message())
    await webhook_stage.worker.run_once()
    await webhook_stage.clock.advance(1.0)
    await webhook_stage.worker.run_once()
    m = webhook_stage.metric
    assert m("watchkeeper_notification_attempts_total", channel="webhook") == 2.0
    assert (
        m("watchkeeper_notification_failures_total", channel="webhook", reason="rate_limited")
        == 1.0
    )
    assert m("watchkeeper_notifications_delivered_total", channel="webhook") == 1.0
    assert m("watchkeeper_notification_latency_seconds_count", channel="webhook") == 2.0
    assert (
        m(
            "watchkeeper_notify_integration_healthy",
            receiver="team",
            channel="webhook",
            integration="0",
        )
        == 1.0
    )
    assert webhook_stage.worker.metrics is not None
    webhook_stage.worker.metrics.set_depth(webhook_stage.outbox.depth())
    assert m("watchkeeper_notify_outbox_depth", status="pending") == 0.0


def test_receiver_problems_lists_every_unbuildable_integration_with_its_location() -> None:
    from watchkeeper.notify.registry import receiver_problems

    problems = receiver_problems(
        [
            receiver("a", email_configs=[{"to": "x@example.org"}]),
            receiver("b", slack_configs=[{"channel": "#c"}]),
        ]
    )
    assert problems == [
        "alerting.receivers[0].email_configs[0].smarthost: set the SMTP server as host:port, "
        "here or as smtp_smarthost in alerting.global",
        "alerting.receivers[1].slack_configs[0]: set api_url (an incoming webhook URL) or "
        "app_token (a bot token with channel), here or as slack_api_url in alerting.global",
    ]
