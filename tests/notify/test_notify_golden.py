"""Golden payloads: what each channel sends for one fixed notification, byte for byte
(after JSON normalisation). A change to a payload shows up here as a diff to review;
``WK_UPDATE_GOLDEN=1`` rewrites the files after a deliberate change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.notify.apprise.notifier import AppriseNotifier
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.discord.notifier import DiscordNotifier
from watchkeeper.notify.email.notifier import EmailNotifier
from watchkeeper.notify.msteams.notifier import MSTeamsNotifier
from watchkeeper.notify.opsgenie.notifier import OpsGenieNotifier
from watchkeeper.notify.pagerduty.notifier import PagerDutyNotifier
from watchkeeper.notify.registry import CHANNELS
from watchkeeper.notify.slack.notifier import SlackNotifier
from watchkeeper.notify.sms.notifier import SMSNotifier
from watchkeeper.notify.telegram.notifier import TelegramNotifier
from watchkeeper.notify.webhook.notifier import WebhookNotifier

from .support import alert, message

GOLDEN = Path(__file__).parent / "golden"
CONFIGS: dict[str, dict[str, Any]] = {
    "webhook": {"url": "http://hook.example/x"},
    "slack": {"api_url": "https://hooks.slack.example/services/T/B/x", "channel": "#ops"},
    "email": {"to": "ops@example.org", "from": "wk@example.org", "smarthost": "mail:587"},
    "pagerduty": {"routing_key": "R" * 32},
    "opsgenie": {"api_key": "k", "tags": "prod,backend"},
    "telegram": {"bot_token": "1:x", "chat_id": -1001},
    "msteams": {"webhook_url": "https://teams.example/x"},
    "msteamsv2": {"webhook_url": "https://flow.example/x"},
    "discord": {"webhook_url": "https://discord.example/api/webhooks/1/x"},
    "sms": {
        "account_sid": "AC1",
        "auth_token": "t",
        "from": "+15550000000",
        "to": ["+15551230001"],
    },
    "apprise": {"urls": ["json://127.0.0.1:9/x"]},
}


def fixed_message() -> Any:
    alerts = (
        alert("HighLatency", instance="api-1"),
        alert("HighLatency", AlertStatus.RESOLVED, ends_at=1_700_000_300.0, instance="api-2"),
    )
    return message(alerts=alerts, event=NotificationEvent.FIRING)


def rendered(channel: str, notifier: Any, msg: Any) -> Any:
    if isinstance(notifier, WebhookNotifier):
        return json.loads(notifier.render(msg))
    if isinstance(notifier, SlackNotifier):
        return notifier.body(msg)
    if isinstance(notifier, PagerDutyNotifier):
        return notifier.event(msg)
    if isinstance(notifier, OpsGenieNotifier):
        return notifier.create_body(msg)
    if isinstance(notifier, TelegramNotifier):
        return notifier.body(msg, {})
    if isinstance(notifier, MSTeamsNotifier):
        return notifier.card(msg)
    if isinstance(notifier, DiscordNotifier):
        return notifier.body(msg)
    if isinstance(notifier, SMSNotifier):
        return {"Body": notifier.text(msg)}
    if isinstance(notifier, EmailNotifier):
        mail = notifier.build(msg, {})
        return {
            "headers": {k: str(v) for k, v in mail.items() if k not in ("Content-Type",)},
            "text": mail.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
            "html": mail.get_body(("html",)).get_content(),  # type: ignore[union-attr]
        }
    if isinstance(notifier, AppriseNotifier):
        data = notifier.data(msg)
        return {"title": notifier.t_title.render(data), "body": notifier.t_body.render(data)}
    raise AssertionError(f"no golden rendering for {channel}")


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_payload_matches_the_golden_file(channel: str) -> None:
    spec = CHANNELS[channel]
    ctx = NotifierContext(clock=FakeClock(1_700_000_100.0))
    notifier = spec.build(spec.config.model_validate(CONFIGS[channel]), ctx, spec.field)
    got = rendered(channel, notifier, fixed_message())
    path = GOLDEN / f"{channel}.json"
    text = json.dumps(got, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("WK_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with WK_UPDATE_GOLDEN=1 once and review it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)
