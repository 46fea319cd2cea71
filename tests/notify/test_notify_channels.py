"""What each channel does beyond the contract: event mapping, threading and in-place
updates, payload shapes the fakes accept, templates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import ConfigError, DeliveryError, DeliveryFailure
from watchkeeper.notify.base import AlertData, Notifier
from watchkeeper.notify.channel import NotifierContext
from watchkeeper.notify.registry import CHANNELS, build_notifiers, warnings
from watchkeeper.testing.discord import FakeDiscord
from watchkeeper.testing.opsgenie import FakeOpsgenie
from watchkeeper.testing.pagerduty import FakePagerDuty
from watchkeeper.testing.slack import FakeSlack
from watchkeeper.testing.smtp import FakeSMTP
from watchkeeper.testing.telegram import FakeTelegram
from watchkeeper.testing.twilio import FakeTwilio
from watchkeeper.testing.webhook_sink import WebhookSink

from .harness import TWILIO_SID
from .support import alert, message, receiver


@pytest.fixture
async def ctx() -> AsyncIterator[NotifierContext]:
    context = NotifierContext(clock=SystemClock(), external_url="http://wk.example")
    yield context
    await context.clients.aclose()


def build(channel: str, cfg: dict[str, Any], ctx: NotifierContext) -> Notifier:
    spec = CHANNELS[channel]
    return spec.build(spec.config.model_validate(cfg), ctx, f"{spec.field}[0]")


async def lifecycle(n: Notifier, events: list[NotificationEvent]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for ev in events:
        receipt = await n.send(message(event=ev, acknowledged_by="ana"), state)
        state.update(receipt.state)
    return state


async def test_slack_bot_posts_once_then_updates_the_same_message_on_ack_and_resolve(
    ctx: NotifierContext,
) -> None:
    with FakeSlack() as slack:
        n = build(
            "slack",
            {"app_token": "xoxb-test-token", "app_url": slack.api_url, "channel": "C1"},
            ctx,
        )
        await lifecycle(
            n,
            [NotificationEvent.FIRING, NotificationEvent.ACKNOWLEDGED, NotificationEvent.RESOLVED],
        )
        [msg] = slack.messages.values()
        assert len(msg.updates) == 2
        assert msg.text.startswith("[RESOLVED]")
        assert msg.updates[0]["attachments"][0]["color"] == "warning"


async def test_slack_bot_starts_a_new_message_for_a_new_incident_after_resolve(
    ctx: NotifierContext,
) -> None:
    with FakeSlack() as slack:
        n = build(
            "slack",
            {"app_token": "xoxb-test-token", "app_url": slack.api_url, "channel": "C1"},
            ctx,
        )
        state = await lifecycle(n, [NotificationEvent.FIRING, NotificationEvent.RESOLVED])
        receipt = await n.send(message(discriminator="again"), state)
        assert len(slack.messages) == 2
        assert receipt.state["open"] is True


async def test_slack_bot_with_a_revoked_token_is_a_permanent_auth_failure(
    ctx: NotifierContext,
) -> None:
    with FakeSlack() as slack:
        n = build(
            "slack", {"app_token": "xoxb-other", "app_url": slack.api_url, "channel": "C"}, ctx
        )
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.reason is DeliveryFailure.AUTH
        assert not err.value.retryable


async def test_slack_api_answer_that_is_not_json_is_a_retryable_bad_response(
    ctx: NotifierContext,
) -> None:
    with FakeSlack() as slack:
        slack.faults.malformed(times=1)
        n = build(
            "slack", {"app_token": "xoxb-test-token", "app_url": slack.api_url, "channel": "C"}, ctx
        )
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.reason is DeliveryFailure.BAD_RESPONSE
        assert err.value.retryable


async def test_slack_webhook_message_is_block_kit_with_a_link_to_the_dashboard(
    ctx: NotifierContext,
) -> None:
    with FakeSlack() as slack:
        n = build("slack", {"api_url": slack.webhook_url()}, ctx)
        await n.send(message(), {})
        [post] = slack.webhook_posts
        blocks = post["attachments"][0]["blocks"]
        assert [b["type"] for b in blocks] == ["header", "section", "actions", "context"]
        assert blocks[0]["text"]["text"] == "[FIRING:1] HighLatency (backend critical)"
        button = blocks[2]["elements"][0]
        assert button["url"].startswith("http://watchkeeper.example:8080/alerts/")


async def test_pagerduty_trigger_acknowledge_resolve_share_one_dedup_key(
    ctx: NotifierContext,
) -> None:
    with FakePagerDuty() as pd:
        n = build("pagerduty", {"routing_key": "R" * 32, "url": pd.events_url}, ctx)
        await lifecycle(
            n,
            [NotificationEvent.FIRING, NotificationEvent.ACKNOWLEDGED, NotificationEvent.RESOLVED],
        )
        [incident] = pd.incidents.values()
        assert [e["event_action"] for e in incident.events] == ["trigger", "acknowledge", "resolve"]
        assert incident.status == "resolved"
        trigger = incident.events[0]
        assert trigger["payload"]["severity"] == "critical"
        assert trigger["links"][0]["text"] == "Open in Watchkeeper"
        assert trigger["payload"]["custom_details"]["num_firing"] == 1


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("warning", "warning"),
        ("info", "info"),
        ("error", "error"),
        ("weird", "critical"),
    ],
)
async def test_pagerduty_maps_the_severity_label(
    ctx: NotifierContext, label: str, expected: str
) -> None:
    with FakePagerDuty() as pd:
        n = build("pagerduty", {"routing_key": "R" * 32, "url": pd.events_url}, ctx)
        await n.send(message(alerts=(alert("X", severity=label),)), {})
        assert pd.events[0]["payload"]["severity"] == expected


async def test_pagerduty_skips_events_it_has_no_action_for(ctx: NotifierContext) -> None:
    with FakePagerDuty() as pd:
        n = build("pagerduty", {"routing_key": "R" * 32, "url": pd.events_url}, ctx)
        receipt = await n.send(message(event=NotificationEvent.MAINTENANCE_STARTED), {})
        assert receipt.skipped
        assert pd.events == []


async def test_opsgenie_creates_acknowledges_and_closes_by_alias(ctx: NotifierContext) -> None:
    with FakeOpsgenie() as og:
        n = build("opsgenie", {"api_key": "genie-key", "api_url": og.api_url}, ctx)
        await lifecycle(
            n,
            [NotificationEvent.FIRING, NotificationEvent.ACKNOWLEDGED, NotificationEvent.RESOLVED],
        )
        [created] = og.alerts.values()
        assert created.acknowledged
        assert created.status == "closed"
        assert created.priority == "P1"
        assert og.unmatched == []


async def test_telegram_escapes_html_and_replies_in_the_thread(ctx: NotifierContext) -> None:
    with FakeTelegram() as tg:
        n = build(
            "telegram", {"bot_token": "123456:ABC-token", "chat_id": -1001, "api_url": tg.url}, ctx
        )
        nasty = alert("Disk<full> & co")
        state: dict[str, Any] = {}
        r = await n.send(message(alerts=(nasty,)), state)
        state.update(r.state)
        await n.send(message(event=NotificationEvent.RESOLVED), state)
        first, second = tg.messages
        assert "Disk&lt;full&gt; &amp; co" in first["text"]
        assert second["reply_parameters"]["message_id"] == first["message_id"]


async def test_telegram_flood_control_is_retried_after_its_retry_after(
    ctx: NotifierContext,
) -> None:
    with FakeTelegram() as tg:
        tg.flood(7)
        n = build(
            "telegram", {"bot_token": "123456:ABC-token", "chat_id": -1001, "api_url": tg.url}, ctx
        )
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.reason is DeliveryFailure.RATE_LIMITED
        assert err.value.retry_after == 7


async def test_discord_rate_limit_reads_retry_after_from_the_body(ctx: NotifierContext) -> None:
    with FakeDiscord() as dc:
        dc.rate_limit(0.25)
        n = build("discord", {"webhook_url": dc.webhook_url()}, ctx)
        with pytest.raises(DeliveryError) as err:
            await n.send(message(), {})
        assert err.value.retry_after == 0.25
        receipt = await n.send(message(), {})
        assert receipt.remote_id == dc.messages[0]["id"]
        assert dc.messages[0]["embeds"][0]["color"] == 0xE01E5A


async def test_sms_retry_after_a_partial_failure_texts_only_who_was_missed(
    ctx: NotifierContext,
) -> None:
    with FakeTwilio(accounts={TWILIO_SID: "tok"}) as tw:
        cfg = {
            "api_url": tw.url,
            "account_sid": TWILIO_SID,
            "auth_token": "tok",
            "from": "+15550000000",
            "to": ["+15551230001", "+15551230002"],
        }
        n = build("sms", cfg, ctx)
        tw.faults.fail(500, times=1, every=2)  # the second request fails
        state: dict[str, Any] = {}
        with pytest.raises(DeliveryError):
            await n.send(message(), state)
        await n.send(message(), state)
        assert [m["to"] for m in tw.messages] == ["+15551230001", "+15551230002"]


async def test_sms_to_an_invalid_number_is_permanent(ctx: NotifierContext) -> None:
    with FakeTwilio(accounts={TWILIO_SID: "tok"}) as tw:
        cfg = {
            "api_url": tw.url,
            "account_sid": TWILIO_SID,
            "auth_token": "tok",
            "from": "+15559999999",
            "to": ["+15551230001"],
        }
        with pytest.raises(DeliveryError) as err:
            await build("sms", cfg, ctx).send(message(), {})
        assert not err.value.retryable
        assert "21606" in str(err.value)


def email_cfg(smtp: FakeSMTP, **extra: Any) -> dict[str, Any]:
    return {
        "to": "ops@example.org",
        "from": "wk@example.org",
        "smarthost": smtp.smarthost,
        "auth_username": "wk",
        "auth_password": "pw",
        "send_resolved": True,
        "tls_config": {"ca_file": smtp.ca_file},
        **extra,
    }


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_email_over_tls_with_auth_threads_firing_and_resolved(
    ctx: NotifierContext, mode: str
) -> None:
    with FakeSMTP(tls=mode, users={"wk": "pw"}) as smtp:  # type: ignore[arg-type]
        n = build("email", email_cfg(smtp, force_implicit_tls=mode == "implicit"), ctx)
        await lifecycle(n, [NotificationEvent.FIRING, NotificationEvent.RESOLVED])
        first, second = smtp.messages
        assert first.tls
        assert first.user == "wk"
        assert second.message["In-Reply-To"] == first.message["Message-ID"]
        assert second.message["References"] == first.message["Message-ID"]
        assert "[RESOLVED]" in second.message["Subject"]
        assert "HighLatency on backend" in first.part("plain")
        assert "Open in Watchkeeper</a>" in first.part("html")


async def test_email_with_a_wrong_password_is_a_permanent_auth_failure(
    ctx: NotifierContext,
) -> None:
    with FakeSMTP(users={"wk": "right"}) as smtp:
        with pytest.raises(DeliveryError) as err:
            await build("email", email_cfg(smtp), ctx).send(message(), {})
        assert err.value.reason is DeliveryFailure.AUTH
        assert "pw" not in str(err.value)


async def test_email_to_a_server_with_an_untrusted_certificate_says_how_to_fix_it(
    ctx: NotifierContext,
) -> None:
    with FakeSMTP(users={"wk": "pw"}) as smtp:
        cfg = email_cfg(smtp)
        del cfg["tls_config"]
        with pytest.raises(DeliveryError) as err:
            await build("email", cfg, ctx).send(message(), {})
        assert err.value.reason is DeliveryFailure.CONFIG
        assert "tls_config.ca_file" in str(err.value)


async def test_email_refuses_to_send_in_clear_when_tls_is_required(ctx: NotifierContext) -> None:
    with FakeSMTP(tls="none") as smtp:
        cfg = {"to": "ops@example.org", "from": "wk@example.org", "smarthost": smtp.smarthost}
        with pytest.raises(DeliveryError) as err:
            await build("email", cfg, ctx).send(message(), {})
        assert "STARTTLS" in str(err.value)
        assert smtp.messages == []


async def test_apprise_url_sends_to_a_loopback_json_endpoint(ctx: NotifierContext) -> None:
    with WebhookSink() as sink:
        n = build("apprise", {"urls": [f"json://127.0.0.1:{sink.server.port}/notify"]}, ctx)
        await n.send(message(), {})
        [got] = sink.deliveries()
        assert got.payload["title"] == "[FIRING:1] HighLatency (backend critical)"
        assert got.payload["type"] == "failure"


def test_an_unknown_apprise_url_is_a_config_error_without_the_url() -> None:
    with pytest.raises(ConfigError) as err:
        build("apprise", {"urls": ["nosuch://secret-token@host"]}, NotifierContext())
    assert "secret-token" not in str(err.value)
    assert "apprise_configs[0].urls[0]" in str(err.value)


async def test_custom_jinja_template_overrides_the_default(ctx: NotifierContext) -> None:
    with FakeDiscord() as dc:
        n = build(
            "discord",
            {
                "webhook_url": dc.webhook_url(),
                "title": "{{ commonLabels.service | upper }}: {{ alerts | length }} alert(s)",
            },
            ctx,
        )
        await n.send(message(), {})
        assert dc.messages[0]["embeds"][0]["title"] == "BACKEND: 1 alert(s)"


def test_a_jinja_syntax_error_is_a_config_error_naming_the_field() -> None:
    recv = receiver("team", discord_configs=[{"webhook_url": "http://x/y", "title": "{{ oops"}])
    with pytest.raises(ConfigError) as err:
        build_notifiers([recv], NotifierContext())
    assert "alerting.receivers[0].discord_configs[0].title: template syntax error" in str(err.value)


def test_an_alertmanager_go_template_falls_back_to_the_default_with_a_warning() -> None:
    recv = receiver(
        "team",
        slack_configs=[
            {"api_url": "http://x/y", "title": '{{ template "slack.default.title" . }}'}
        ],
    )
    notifiers = build_notifiers([recv], NotifierContext())
    [warning] = warnings(notifiers)
    assert "slack_configs[0].title" in warning
    assert "Jinja2" in warning


ALERTMANAGER_RECEIVERS = """
alerting:
  route: {receiver: team-X-mails}
  receivers:
    - name: team-X-mails
      email_configs:
        - to: 'team-X+alerts@example.org'
          smarthost: smtp.example.org:587
          from: am@example.org
          auth_username: am
          auth_password: pw
          headers: {Subject: '{{ template "email.default.subject" . }}'}
    - name: team-X-pager
      pagerduty_configs:
        - routing_key: mysecret
          severity: '{{ .CommonLabels.severity }}'
          links: [{href: 'http://runbooks', text: runbook}]
    - name: slack
      slack_configs:
        - api_url: https://hooks.slack.com/services/T/B/x
          channel: '#alerts'
          send_resolved: true
          title: '{{ .CommonAnnotations.summary }}'
          fields: [{title: sev, value: '{{ .CommonLabels.severity }}', short: true}]
          actions: [{type: button, text: Runbook, url: 'http://runbook'}]
    - name: og
      opsgenie_configs:
        - api_key: k
          responders: [{name: ops, type: team}]
          tags: a,b
    - name: misc
      webhook_configs: [{url: 'http://127.0.0.1:9/hook', max_alerts: 5}]
      telegram_configs: [{bot_token: t, chat_id: -100, parse_mode: HTML}]
      msteams_configs: [{webhook_url: 'https://example.webhook.office.com/x'}]
      msteamsv2_configs: [{webhook_url: 'https://prod.logic.azure.com/x'}]
      discord_configs: [{webhook_url: 'https://discord.com/api/webhooks/1/x'}]
"""


def test_an_alertmanager_receiver_block_loads_unchanged_and_builds() -> None:
    loaded = load_config_text(ALERTMANAGER_RECEIVERS)
    receivers = loaded.config.alerting.receivers
    assert [r.name for r in receivers] == ["team-X-mails", "team-X-pager", "slack", "og", "misc"]
    notifiers = build_notifiers(receivers, NotifierContext())
    assert len(notifiers) == 9
    assert len(warnings(notifiers)) == 4  # the Go templates fall back to defaults


def test_dashboard_link_is_external_url_plus_alerts_fingerprint() -> None:
    from watchkeeper.notify.templating import template_data

    data = template_data(message(external_url="https://wk.example/"))
    first: AlertData = message().alerts[0]
    assert data["alerts"][0]["dashboardURL"] == f"https://wk.example/alerts/{first.fingerprint}"


def test_alertmanager_global_defaults_fill_what_receivers_leave_out() -> None:
    from watchkeeper.notify.amglobals import apply_globals

    receivers = [
        receiver(
            "mail",
            email_configs=[
                {"to": "a@example.org"},
                {"to": "b@example.org", "smarthost": "other:25"},
            ],
        ),
        receiver("chat", slack_configs=[{"channel": "#ops"}]),
    ]
    filled = apply_globals(
        receivers,
        {
            "smtp_smarthost": "smtp.example.org:587",
            "smtp_from": "am@example.org",
            "smtp_auth_password": "pw",
            "slack_api_url": "https://hooks.example/T/B/x",
            "resolve_timeout": "5m",
        },
    )
    first, second = filled[0].email_configs
    assert (first.smarthost, first.from_) == ("smtp.example.org:587", "am@example.org")
    assert first.auth_password is not None
    assert first.auth_password.reveal() == "pw"
    assert second.smarthost == "other:25"  # what the receiver says wins
    [slack] = filled[1].slack_configs
    assert slack.api_url is not None
    assert slack.api_url.reveal() == "https://hooks.example/T/B/x"
    assert len(build_notifiers(filled, NotifierContext())) == 3
