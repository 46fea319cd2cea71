"""The contract every registered channel keeps (CONVENTIONS 10): its config round-trips and
hides secrets; it delivers to its fake; server errors are retryable, client errors are
permanent, a stalled service is a retryable timeout within the configured time; and no
error message shows a secret."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from watchkeeper.core.clock import SystemClock
from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.base import Notifier
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.config import CHANNEL_FIELDS, ReceiverConfig
from watchkeeper.notify.registry import CHANNELS

from .harness import HARNESSES, Harness
from .support import message

pytestmark = pytest.mark.parametrize("channel", sorted(CHANNELS))


def test_every_registered_channel_has_a_harness_and_a_receiver_field(channel: str) -> None:
    assert channel in HARNESSES
    assert CHANNELS[channel].field == CHANNEL_FIELDS[channel]
    assert CHANNEL_FIELDS[channel] in ReceiverConfig.model_fields


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


@pytest.fixture(scope="module")
def _fakes() -> Iterator[dict[str, Any]]:
    """One fake per channel for the whole module, reset before each test."""
    with ExitStack() as s:
        yield {name: h.start(s) for name, h in HARNESSES.items()}


@pytest.fixture
def fake(channel: str, _fakes: dict[str, Any]) -> Any:
    _fakes[channel].reset()
    return _fakes[channel]


@pytest.fixture
async def ctx() -> AsyncIterator[NotifierContext]:
    context = NotifierContext(clock=SystemClock(), external_url="http://wk.example")
    yield context
    await context.clients.aclose()


def build(channel: str, cfg: dict[str, Any], ctx: NotifierContext) -> Notifier:
    spec = CHANNELS[channel]
    return spec.build(spec.config.model_validate(cfg), ctx, f"{spec.field}[0]")


def secret_values(h: Harness, cfg: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name in h.secrets:
        value = cfg[name]
        out.extend(value if isinstance(value, list) else [value])
    return out


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for s in secrets:
        assert s not in text
        assert "SECRET" not in text, text


def test_config_round_trips_through_its_dump(channel: str, fake: Any) -> None:
    h = HARNESSES[channel]
    model = CHANNELS[channel].config
    cfg = model.model_validate(h.config(fake))
    dumped = cfg.model_dump(mode="json", by_alias=True)
    again = model.model_validate(dumped)
    assert again.model_dump(mode="json", by_alias=True) == dumped


def test_config_dump_and_repr_hide_the_secrets(channel: str, fake: Any) -> None:
    h = HARNESSES[channel]
    raw = h.config(fake)
    cfg = CHANNELS[channel].config.model_validate(raw)
    shown = json.dumps(cfg.model_dump(mode="json")) + repr(cfg) + str(cfg)
    assert_no_secret(shown, secret_values(h, raw))


async def test_delivers_to_its_service(
    channel: str, fake: Any, stack: ExitStack, ctx: NotifierContext
) -> None:
    h = HARNESSES[channel]
    notifier = build(channel, h.config(fake), ctx)
    receipt = await notifier.send(message(), {})
    assert not receipt.skipped
    assert h.received(fake) == 1
    assert_no_secret(receipt.summary, secret_values(h, h.config(fake)))
    assert_no_secret(notifier.describe(), secret_values(h, h.config(fake)))  # type: ignore[attr-defined]


async def test_server_error_is_retryable(
    channel: str, fake: Any, stack: ExitStack, ctx: NotifierContext
) -> None:
    h = HARNESSES[channel]
    notifier = build(channel, h.config(fake), ctx)
    h.fail(fake, 503)
    with pytest.raises(DeliveryError) as err:
        await notifier.send(message(), {})
    assert err.value.retryable
    assert err.value.reason is DeliveryFailure.SERVER_ERROR
    assert_no_secret(str(err.value), secret_values(h, h.config(fake)))
    await notifier.send(message(), {})  # and the next attempt goes through
    assert h.received(fake) == 1


async def test_client_error_is_permanent(
    channel: str, fake: Any, stack: ExitStack, ctx: NotifierContext
) -> None:
    h = HARNESSES[channel]
    notifier = build(channel, h.config(fake), ctx)
    h.fail(fake, 400)
    with pytest.raises(DeliveryError) as err:
        await notifier.send(message(), {})
    assert not err.value.retryable
    assert err.value.reason in (DeliveryFailure.CLIENT_ERROR, DeliveryFailure.AUTH)
    assert_no_secret(str(err.value), secret_values(h, h.config(fake)))


async def test_rate_limit_is_retryable(
    channel: str, fake: Any, stack: ExitStack, ctx: NotifierContext
) -> None:
    h = HARNESSES[channel]
    notifier = build(channel, h.config(fake), ctx)
    if channel == "email":  # SMTP throttles with a 4xx reply ("421 … slow down")
        fake.fail_next("421 4.7.0 Too many messages, slow down")
    else:
        h.fail(fake, 429)
    with pytest.raises(DeliveryError) as err:
        await notifier.send(message(), {})
    assert err.value.retryable
    expected = DeliveryFailure.SERVER_ERROR if channel == "email" else DeliveryFailure.RATE_LIMITED
    assert err.value.reason is expected


async def test_a_stalled_service_is_a_retryable_timeout_within_the_configured_time(
    channel: str, fake: Any, stack: ExitStack, ctx: NotifierContext
) -> None:
    h = HARNESSES[channel]
    overrides = h.stall(fake, stack)
    notifier = build(channel, {**h.config(fake), **overrides}, ctx)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        await notifier.send(message(), {})
    assert err.value.retryable
    assert err.value.reason is DeliveryFailure.TIMEOUT
    assert time.monotonic() - started < 2.5
    await asyncio.sleep(0.8)  # let the stalled request end before the fake is reused
