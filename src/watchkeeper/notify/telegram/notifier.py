"""Telegram Bot API ``sendMessage`` (HTML by default); a group's later messages reply to
its first one so that firing and resolved stay together."""

from __future__ import annotations

import html
from typing import Any, ClassVar

from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target
from watchkeeper.notify.http import malformed, request
from watchkeeper.notify.telegram.config import TelegramConfig

MESSAGE = (
    "<b>{{ title }}</b>\n"
    "{% for a in alerts[:10] %}\n{{ '🔥' if a.status == 'firing' else '✅' }} "
    "<b>{{ a.annotations.summary or a.labels.alertname }}</b>\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n{% endif %}"
    '{% if a.dashboardURL %}<a href="{{ a.dashboardURL }}">Open in Watchkeeper</a>\n{% endif %}'
    "{% endfor %}"
    "{% if alerts | length > 10 %}…and {{ alerts | length - 10 }} more{% endif %}"
)
MESSAGE_PLAIN = (
    "{{ title }}\n{% for a in alerts[:10] %}\n- {{ a.annotations.summary or a.labels.alertname }}"
    "{% if a.dashboardURL %} {{ a.dashboardURL }}{% endif %}{% endfor %}"
)
MAX_TEXT = 4096


class TelegramNotifier(BaseNotifier):
    channel: ClassVar[str] = "telegram"

    def __init__(self, config: TelegramConfig, ctx: NotifierContext, *, where: str) -> None:
        super().__init__(config, ctx, where=where, secrets=[config.bot_token.reveal()])
        self.cfg = config
        is_html = config.parse_mode == "HTML"
        self.t_message = self.template(
            "message", config.message, MESSAGE if is_html else MESSAGE_PLAIN, html=is_html
        )

    def describe(self) -> str:
        return f"Telegram Bot API {safe_target(self.cfg.api_url)} → chat {self.cfg.chat_id}"

    def body(self, message: NotificationMessage, state: dict[str, Any]) -> dict[str, Any]:
        text = self.t_message.render(self.data(message))
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
            if self.cfg.parse_mode == "HTML":
                text = html.escape(html.unescape(_strip_tags(text)))
        body: dict[str, Any] = {"chat_id": self.cfg.chat_id, "text": text}
        if self.cfg.parse_mode:
            body["parse_mode"] = self.cfg.parse_mode
        if self.cfg.disable_notifications:
            body["disable_notification"] = True
        if self.cfg.message_thread_id is not None:
            body["message_thread_id"] = self.cfg.message_thread_id
        first = state.get("message_id")
        if first and not message.is_test:
            body["reply_parameters"] = {"message_id": first, "allow_sending_without_reply": True}
        return body

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        url = f"{self.cfg.api_url.rstrip('/')}/bot{self.cfg.bot_token.reveal()}/sendMessage"
        response = await request(
            self.client,
            "POST",
            url,
            service="Telegram",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            check=False,
            json=self.body(message, state),
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if response.status_code >= 300:
                from watchkeeper.notify.http import check_response

                check_response(response, service="Telegram", now=self.now(), redact=self.redact)
            raise malformed("Telegram", "the body is not a JSON object")
        if answer.get("ok") is not True:
            raise _error(answer, response.status_code)
        result = answer.get("result") or {}
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(message_id, int):
            raise malformed("Telegram", "no result.message_id")
        new_state: dict[str, Any] = {}
        if not state.get("message_id") and not message.is_test:
            new_state["message_id"] = message_id
        if message.status.value == "resolved":
            new_state["message_id"] = None  # the next firing starts a new thread
        return DeliveryReceipt(
            response.status_code,
            f"{response.status_code} ok: message {message_id} in chat {self.cfg.chat_id}",
            remote_id=str(message_id),
            state=new_state,
        )


def _error(answer: dict[str, Any], status: int) -> DeliveryError:
    code = int(answer.get("error_code") or status)
    text = f"Telegram answered {code}: {answer.get('description', 'error')}"
    params = answer.get("parameters") or {}
    if code == 429:
        retry = params.get("retry_after") if isinstance(params, dict) else None
        return DeliveryError(
            text,
            reason=DeliveryFailure.RATE_LIMITED,
            status_code=code,
            retry_after=float(retry) if isinstance(retry, int | float) else None,
        )
    if code >= 500:
        return DeliveryError(text, reason=DeliveryFailure.SERVER_ERROR, status_code=code)
    if code in (401, 403):
        return DeliveryError(
            text + "; check bot_token and that the bot is in the chat",
            reason=DeliveryFailure.AUTH,
            status_code=code,
        )
    return DeliveryError(
        text + "; check chat_id and the message template",
        reason=DeliveryFailure.CLIENT_ERROR,
        status_code=code,
    )


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^>]*>?", "", text)
