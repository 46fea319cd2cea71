"""One harness per registry entry: how to start its fake, a valid config pointing at it, and
how to make the fake fail, stall or count what it accepted. The contract suite runs every
harness through the same checks."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from watchkeeper.testing.discord import FakeDiscord
from watchkeeper.testing.opsgenie import FakeOpsgenie
from watchkeeper.testing.pagerduty import FakePagerDuty
from watchkeeper.testing.slack import FakeSlack
from watchkeeper.testing.smtp import FakeSMTP
from watchkeeper.testing.teams import FakeTeams
from watchkeeper.testing.telegram import FakeTelegram
from watchkeeper.testing.twilio import FakeTwilio
from watchkeeper.testing.webhook_sink import WebhookSink

TWILIO_SID = "AC" + "0" * 32


@dataclass
class Harness:
    channel: str
    start: Callable[[ExitStack], Any]
    config: Callable[[Any], dict[str, Any]]
    received: Callable[[Any], int]
    fail: Callable[[Any, int], None]  # the next request fails with this HTTP-like status
    stall: Callable[[Any, ExitStack], dict[str, Any]]  # config overrides for a stalled send
    secrets: tuple[str, ...]  # config fields holding secrets (their values must never show)


def _http_stall(fake: Any, _stack: ExitStack) -> dict[str, Any]:
    fake.faults.slow(0.6, times=1)  # answered after the client gave up
    return {"timeout": "300ms"}


def _http_fail(fake: Any, status: int) -> None:
    fake.faults.fail(status, times=1)


def _silent_smtp(stack: ExitStack) -> str:
    """A socket that accepts connections and never says a word (an SMTP server that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stack.callback(sock.close)
    return f"127.0.0.1:{sock.getsockname()[1]}"


def _email_fail(fake: FakeSMTP, status: int) -> None:
    if status >= 500:
        fake.fail_next("451 4.3.0 Try again later")
    else:
        fake.reject.add("ops@example.org")


HARNESSES: dict[str, Harness] = {
    "webhook": Harness(
        "webhook",
        lambda s: s.enter_context(WebhookSink()),
        lambda f: {"url": f.url_for("hook/SECRET-PATH-1")},
        lambda f: len(f.deliveries()),
        _http_fail,
        _http_stall,
        ("url",),
    ),
    "slack": Harness(
        "slack",
        lambda s: s.enter_context(FakeSlack(webhook_tokens={"SECRET-slack-hook"})),
        lambda f: {"api_url": f.webhook_url("SECRET-slack-hook"), "channel": "#ops"},
        lambda f: len(f.webhook_posts),
        _http_fail,
        _http_stall,
        ("api_url",),
    ),
    "email": Harness(
        "email",
        lambda s: s.enter_context(FakeSMTP(tls="starttls", users={"wk": "SECRET-smtp-pw"})),
        lambda f: {
            "to": "ops@example.org",
            "from": "watchkeeper@example.org",
            "smarthost": f.smarthost,
            "auth_username": "wk",
            "auth_password": "SECRET-smtp-pw",
            "tls_config": {"ca_file": f.ca_file},
            "send_resolved": True,
        },
        lambda f: len(f.messages),
        _email_fail,
        lambda f, s: {"smarthost": _silent_smtp(s), "timeout": "300ms"},
        ("auth_password",),
    ),
    "pagerduty": Harness(
        "pagerduty",
        lambda s: s.enter_context(FakePagerDuty(routing_keys={"SECRET-pd-routing-key-0000000"})),
        lambda f: {"routing_key": "SECRET-pd-routing-key-0000000", "url": f.events_url},
        lambda f: len(f.events),
        _http_fail,
        _http_stall,
        ("routing_key",),
    ),
    "opsgenie": Harness(
        "opsgenie",
        lambda s: s.enter_context(FakeOpsgenie(api_keys={"SECRET-genie"})),
        lambda f: {"api_key": "SECRET-genie", "api_url": f.api_url},
        lambda f: sum(a.count for a in f.alerts.values()),
        _http_fail,
        _http_stall,
        ("api_key",),
    ),
    "telegram": Harness(
        "telegram",
        lambda s: s.enter_context(FakeTelegram(tokens={"999:SECRET-tg"}, chats={-1001})),
        lambda f: {"bot_token": "999:SECRET-tg", "chat_id": -1001, "api_url": f.url},
        lambda f: len(f.messages),
        _http_fail,
        _http_stall,
        ("bot_token",),
    ),
    "msteams": Harness(
        "msteams",
        lambda s: s.enter_context(FakeTeams(hook_ids={"SECRET-teams"})),
        lambda f: {"webhook_url": f.incoming_url("SECRET-teams")},
        lambda f: len(f.cards),
        _http_fail,
        _http_stall,
        ("webhook_url",),
    ),
    "msteamsv2": Harness(
        "msteamsv2",
        lambda s: s.enter_context(FakeTeams(hook_ids={"SECRET-flow"})),
        lambda f: {"webhook_url": f.workflow_url("SECRET-flow")},
        lambda f: len(f.cards),
        _http_fail,
        _http_stall,
        ("webhook_url",),
    ),
    "discord": Harness(
        "discord",
        lambda s: s.enter_context(FakeDiscord(webhooks={"77": "SECRET-discord"})),
        lambda f: {"webhook_url": f.webhook_url("77", "SECRET-discord")},
        lambda f: len(f.messages),
        _http_fail,
        _http_stall,
        ("webhook_url",),
    ),
    "sms": Harness(
        "sms",
        lambda s: s.enter_context(FakeTwilio(accounts={TWILIO_SID: "SECRET-twilio"})),
        lambda f: {
            "api_url": f.url,
            "account_sid": TWILIO_SID,
            "auth_token": "SECRET-twilio",
            "from": "+15550000000",
            "to": ["+15551230001"],
            "send_resolved": True,
        },
        lambda f: len(f.messages),
        _http_fail,
        _http_stall,
        ("auth_token",),
    ),
    "apprise": Harness(
        "apprise",
        lambda s: s.enter_context(WebhookSink()),
        lambda f: {"urls": [f"json://127.0.0.1:{f.server.port}/SECRET-apprise"]},
        lambda f: len(f.deliveries()),
        _http_fail,
        lambda f, s: (f.faults.slow(1.0, times=1), {"timeout": "500ms"})[1],
        ("urls",),
    ),
}
