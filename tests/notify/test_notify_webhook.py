"""The webhook channel: payload, custom body, headers, signature, truncation; and the worker
running on its own with the real clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import AlertStatus, DeliveryStatus
from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.webhook.config import WebhookConfig
from watchkeeper.notify.webhook.notifier import WebhookNotifier
from watchkeeper.state.db import Database
from watchkeeper.testing.server import free_port
from watchkeeper.testing.webhook_sink import WebhookSink

from .support import alert, fast_settings, make_stage, message, receiver

Make = Callable[..., WebhookNotifier]


@pytest.fixture
async def notifier() -> AsyncIterator[Make]:
    ctx = NotifierContext(clock=SystemClock())

    def make(**cfg: object) -> WebhookNotifier:
        return WebhookNotifier(WebhookConfig.model_validate(cfg), ctx, where="w[0]")

    yield make
    await ctx.clients.aclose()


async def test_signed_request_carries_a_timestamp_and_hmac_the_receiver_can_verify(
    notifier: Make,
) -> None:
    with WebhookSink(hmac_secret="s3cret") as sink:
        n = notifier(url=sink.url_for("x"), hmac_secret="s3cret")
        receipt = await n.send(message(), {})
        assert receipt.status_code == 200
        [got] = sink.deliveries()
        assert got.headers["x-watchkeeper-signature"].startswith("sha256=")
        assert got.headers["x-watchkeeper-timestamp"].isdigit()


async def test_a_wrong_signing_key_is_refused_as_an_auth_failure(notifier: Make) -> None:
    with WebhookSink(hmac_secret="right") as sink:
        n = notifier(url=sink.url_for("x"), hmac_secret="wrong")
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.reason is DeliveryFailure.AUTH
        assert not err.value.retryable
        assert "wrong" not in str(err.value)


async def test_custom_jinja_body_and_headers_replace_the_payload(notifier: Make) -> None:
    with WebhookSink(required_headers={"X-Team-Token": "abc"}) as sink:
        n = notifier(
            url=sink.url_for("x"),
            headers={"X-Team-Token": "abc"},
            body_template='{"text": "{{ title }}", "n": {{ alerts | length }}, '
            '"group": {{ payload.groupLabels | tojson }}}',
        )
        await n.send(message(), {})
        [got] = sink.deliveries()
        assert got.payload == {
            "text": "[FIRING:1] HighLatency (backend critical)",
            "n": 1,
            "group": {"alertname": "HighLatency"},
        }


async def test_max_alerts_truncates_and_counts_the_rest(notifier: Make) -> None:
    with WebhookSink() as sink:
        n = notifier(url=sink.url_for("x"), max_alerts=2)
        alerts = tuple(alert(f"A{i}", AlertStatus.FIRING) for i in range(5))
        await n.send(message(alerts=alerts), {})
        [got] = sink.deliveries()
        assert len(got.alerts) == 2
        assert got.payload["truncatedAlerts"] == 3


async def test_unreachable_receiver_is_retryable_and_the_secret_url_is_not_in_the_error(
    notifier: Make,
) -> None:
    port = free_port()
    n = notifier(url=f"http://127.0.0.1:{port}/hooks/T0K3N-very-secret", timeout="1s")
    with pytest.raises(DeliveryError) as err:
        await n.send(message(), {})
    assert err.value.reason is DeliveryFailure.CONNECTION
    assert err.value.retryable
    assert "T0K3N" not in str(err.value)
    assert n.describe() == f"POST http://127.0.0.1:{port}/…"


async def test_slow_receiver_beyond_the_timeout_is_a_retryable_timeout(notifier: Make) -> None:
    with WebhookSink() as sink:
        sink.faults.slow(2.0, times=1)
        n = notifier(url=sink.url_for("x"), timeout="300ms")
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.reason is DeliveryFailure.TIMEOUT
        assert err.value.retryable


def test_webhook_config_dump_redacts_url_headers_and_key() -> None:
    cfg = WebhookConfig.model_validate(
        {"url": "http://h/secret-path", "headers": {"X-K": "v4lue"}, "hmac_secret": "k3y"}
    )
    dumped = json.dumps(cfg.model_dump(mode="json"))
    assert "secret-path" not in dumped
    assert "v4lue" not in dumped
    assert "k3y" not in dumped


async def test_started_worker_delivers_on_enqueue_and_stops_cleanly(
    sqlite_db: Database, sink: WebhookSink
) -> None:
    clock = SystemClock()
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x")}])],
        clock,  # type: ignore[arg-type]
        settings=fast_settings(backoff_initial=0.05, poll_interval=0.2),
    )
    await stage.worker.start()
    sink.faults.fail(500, times=1)
    stage.outbox.enqueue("team", message())
    stage.outbox.enqueue("team", message(group="B"))
    await asyncio.to_thread(sink.wait_for, 2, 10.0)
    await stage.close()
    assert {d.status for d in stage.outbox.list_deliveries().items} == {DeliveryStatus.DELIVERED}


async def test_stopping_hands_back_a_send_that_does_not_finish(
    sqlite_db: Database, sink: WebhookSink
) -> None:
    clock = SystemClock()
    stage = make_stage(
        sqlite_db,
        [receiver("team", webhook_configs=[{"url": sink.url_for("x"), "timeout": "20s"}])],
        clock,  # type: ignore[arg-type]
        settings=fast_settings(poll_interval=0.1, send_timeout=30, lease=60),
    )
    sink.faults.hang(times=1)
    await stage.worker.start()
    stage.outbox.enqueue("team", message())
    for _ in range(100):
        if stage.worker.in_flight:
            break
        await asyncio.sleep(0.02)
    await stage.close()
    [row] = stage.outbox.list_deliveries().items
    assert row.status is DeliveryStatus.PENDING
    assert row.attempts == 0
