"""Slack: Block Kit messages through an incoming webhook, or through the Web API with a bot
token, where the group's first notification is posted with ``chat.postMessage`` and later
events (acknowledged, escalated, resolved) update that same message with ``chat.update``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import ConfigError, DeliveryError, DeliveryFailure
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target, skipped
from watchkeeper.notify.http import check_response, malformed, request, summarize
from watchkeeper.notify.slack.config import SlackConfig

TITLE = "{{ title }}"
TEXT = (
    "{% for a in alerts[:10] %}"
    "*{{ a.annotations.summary or a.labels.alertname }}*"
    "{% if a.status == 'resolved' %} (resolved){% endif %}\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n{% endif %}"
    "{% for k, v in a.labels | dictsort %}`{{ k }}={{ v }}` {% endfor %}\n"
    "{% if a.dashboardURL %}<{{ a.dashboardURL }}|View in Watchkeeper>{% endif %}"
    "{% if a.generatorURL %} · <{{ a.generatorURL }}|Source>{% endif %}\n\n"
    "{% endfor %}"
    "{% if alerts | length > 10 %}…and {{ alerts | length - 10 }} more\n{% endif %}"
    "{% if acknowledged_by %}Acknowledged by {{ acknowledged_by }}{% endif %}"
)
FALLBACK = "{{ title }}"
FOOTER = "Watchkeeper · receiver {{ receiver }}"
COLOR = (
    "{% if is_test %}#439FE0{% elif event == 'acknowledged' %}warning"
    "{% elif status == 'firing' %}danger{% else %}good{% endif %}"
)

# Web API errors (HTTP 200 with ok=false) by what they mean
_AUTH = {
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "no_permission",
    "ekm_access_denied",
    "not_allowed_token_type",
}
_RETRY = {
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
    "rate_limited",
}
_UPDATES = (
    NotificationEvent.RESOLVED,
    NotificationEvent.ACKNOWLEDGED,
    NotificationEvent.UNACKNOWLEDGED,
    NotificationEvent.ESCALATED,
    NotificationEvent.REPEAT,
)
_WEBHOOK_ERRORS = {"invalid_token": DeliveryFailure.AUTH, "no_service": DeliveryFailure.AUTH}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": True}


def _mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "mrkdwn", "text": text or " "}


class SlackNotifier(BaseNotifier):
    channel: ClassVar[str] = "slack"

    def __init__(self, config: SlackConfig, ctx: NotifierContext, *, where: str) -> None:
        if not config.api_url and not config.app_token:
            raise ConfigError(
                f"{where}: set api_url (an incoming webhook URL) or app_token (a bot token "
                "with channel), here or as slack_api_url in alerting.global"
            )
        secrets = [s.reveal() for s in (config.api_url, config.app_token) if s]
        super().__init__(config, ctx, where=where, secrets=secrets)
        self.cfg = config
        self.t_title = self.template("title", config.title, TITLE)
        self.t_text = self.template("text", config.text, TEXT)
        self.t_fallback = self.template("fallback", config.fallback, FALLBACK)
        self.t_footer = self.template("footer", config.footer, FOOTER)
        self.t_color = self.template("color", config.color, COLOR)
        self.t_pretext = self.template("pretext", config.pretext, "") if config.pretext else None
        self.t_fields = [
            (
                self.template(f"fields[{i}].title", f.title, ""),
                self.template(f"fields[{i}].value", f.value, ""),
            )
            for i, f in enumerate(config.fields[:10])
        ]

    def describe(self) -> str:
        if self.cfg.app_token:
            return f"Slack Web API {safe_target(self.cfg.app_url)} → {self.cfg.channel}"
        url = self.cfg.api_url.reveal() if self.cfg.api_url else ""
        return f"Slack incoming webhook {safe_target(url)}"

    # -- rendering -----------------------------------------------------------------------

    def blocks(self, message: NotificationMessage) -> tuple[str, list[dict[str, Any]], str]:
        """(fallback text, blocks, color)."""
        data = self.data(message)
        title = self.t_title.render(data)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(title, 150)}]
        if self.t_pretext is not None:
            blocks.append({"type": "section", "text": _mrkdwn(self.t_pretext.render(data))})
        blocks.append({"type": "section", "text": _mrkdwn(self.t_text.render(data))})
        rendered = [(t.render(data), v.render(data)) for t, v in self.t_fields]
        fields = [_mrkdwn(f"*{t}*\n{v}", 2000) for t, v in rendered if t and v]
        if fields:
            blocks.append({"type": "section", "fields": fields})
        buttons = [
            {"type": "button", "text": _plain(a.text, 75), "url": a.url}
            for a in self.cfg.actions
            if a.url
        ]
        link = data["dashboardURL"]
        if link and not buttons:
            buttons.append(
                {"type": "button", "text": _plain("Open in Watchkeeper", 75), "url": link}
            )
        if buttons:
            blocks.append({"type": "actions", "elements": buttons[:25]})
        blocks.append({"type": "context", "elements": [_mrkdwn(self.t_footer.render(data))]})
        return self.t_fallback.render(data), blocks, self.t_color.render(data)

    def body(self, message: NotificationMessage) -> dict[str, Any]:
        fallback, blocks, color = self.blocks(message)
        body: dict[str, Any] = {
            "text": fallback,
            "attachments": [{"color": color, "fallback": fallback, "blocks": blocks}],
        }
        for key in ("channel", "username", "icon_emoji", "icon_url"):
            value = getattr(self.cfg, key)
            if value:
                body[key] = value
        if self.cfg.link_names:
            body["link_names"] = True
        return body

    # -- sending -------------------------------------------------------------------------

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        body = self.body(message)
        if not self.cfg.app_token:
            return await self._webhook(body)
        event = message.event
        ts, is_open = state.get("ts"), bool(state.get("open"))
        resolved = event is NotificationEvent.RESOLVED
        if (
            ts
            and self.cfg.update_message
            and (is_open or event in _UPDATES)
            and event
            in (
                *_UPDATES,
                NotificationEvent.FIRING,
            )
        ):
            try:
                receipt = await self._api(
                    "chat.update", {**body, "channel": state["channel"], "ts": ts}, update=True
                )
                return _with_open(receipt, not resolved)
            except DeliveryError as exc:
                if "message_not_found" not in str(exc) and "cant_update_message" not in str(exc):
                    raise
        if resolved and not self.send_resolved:
            return skipped("no message to update and send_resolved is off")
        receipt = await self._api("chat.postMessage", body, update=False)
        return _with_open(receipt, not resolved and not message.is_test)

    async def _webhook(self, body: dict[str, Any]) -> DeliveryReceipt:
        url = self.cfg.api_url.reveal() if self.cfg.api_url else ""
        response = await request(
            self.client,
            "POST",
            url,
            service="Slack",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            check=False,
            json=body,
            headers=self.auth_headers(),
        )
        text = response.text.strip()
        if response.status_code in (403, 404, 410) and text in _WEBHOOK_ERRORS:
            raise DeliveryError(
                f"Slack refused the webhook: {text}; check api_url",
                reason=_WEBHOOK_ERRORS[text],
                status_code=response.status_code,
            )
        check_response(response, service="Slack", now=self.now(), redact=self.redact)
        return DeliveryReceipt(response.status_code, summarize(response, self.redact))

    async def _api(self, method: str, body: dict[str, Any], *, update: bool) -> DeliveryReceipt:
        token = self.cfg.app_token.reveal() if self.cfg.app_token else ""
        url = self.cfg.app_url.rstrip("/") + "/" + method
        response = await request(
            self.client,
            "POST",
            url,
            service="Slack",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            json=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        answer = _json(response)
        if answer.get("ok") is not True:
            raise _api_error(method, answer, response)
        channel, ts = answer.get("channel"), answer.get("ts")
        if not isinstance(ts, str) or not isinstance(channel, str):
            raise malformed("Slack", f"{method} answer has no channel/ts")
        verb = "updated" if update else "posted"
        return DeliveryReceipt(
            response.status_code,
            f"{response.status_code} ok: {verb} message {ts} in {channel}",
            remote_id=ts,
            state={"channel": channel, "ts": ts},
        )


def _with_open(receipt: DeliveryReceipt, is_open: bool) -> DeliveryReceipt:
    from dataclasses import replace

    return replace(receipt, state={**receipt.state, "open": is_open})


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise malformed("Slack", "the body is not JSON") from None
    if not isinstance(value, dict):
        raise malformed("Slack", "the body is not a JSON object")
    return value


def _api_error(method: str, answer: dict[str, Any], response: httpx.Response) -> DeliveryError:
    code = str(answer.get("error", "unknown_error"))
    text = f"Slack {method} failed: {code}"
    if code in _AUTH:
        return DeliveryError(text + "; check app_token and its scopes", reason=DeliveryFailure.AUTH)
    if code in _RETRY:
        return DeliveryError(text, reason=DeliveryFailure.SERVER_ERROR)
    return DeliveryError(
        text + "; check the channel and the message template",
        reason=DeliveryFailure.CLIENT_ERROR,
        status_code=response.status_code,
    )
