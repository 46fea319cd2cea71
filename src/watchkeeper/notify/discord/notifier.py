"""Discord webhooks with embeds (``?wait=true`` so Discord answers with the message)."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.core.clock import rfc3339
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target
from watchkeeper.notify.discord.config import DiscordConfig
from watchkeeper.notify.http import parse_retry_after, request

TITLE = "{{ title }}"
MESSAGE = (
    "{% for a in alerts[:10] %}**{{ a.annotations.summary or a.labels.alertname }}**"
    "{% if a.status == 'resolved' %} (resolved){% endif %}\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n{% endif %}"
    "{% if a.dashboardURL %}[Open in Watchkeeper]({{ a.dashboardURL }})\n{% endif %}\n"
    "{% endfor %}{% if alerts | length > 10 %}…and {{ alerts | length - 10 }} more{% endif %}"
)
RED, GREEN, ORANGE, BLUE = 0xE01E5A, 0x2EB67D, 0xECB22E, 0x439FE0


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DiscordNotifier(BaseNotifier):
    channel: ClassVar[str] = "discord"
    stateful: ClassVar[bool] = False

    def __init__(self, config: DiscordConfig, ctx: NotifierContext, *, where: str) -> None:
        super().__init__(config, ctx, where=where, secrets=[config.webhook_url.reveal()])
        self.cfg = config
        self.t_title = self.template("title", config.title, TITLE)
        self.t_message = self.template("message", config.message, MESSAGE)
        self.t_content = self.template("content", config.content, "") if config.content else None

    def describe(self) -> str:
        return f"Discord webhook {safe_target(self.cfg.webhook_url.reveal())}"

    def body(self, message: NotificationMessage) -> dict[str, Any]:
        data = self.data(message)
        color = (
            BLUE
            if message.is_test
            else (
                ORANGE
                if message.event.value == "acknowledged"
                else RED
                if message.status.value == "firing"
                else GREEN
            )
        )
        embed: dict[str, Any] = {
            "title": _cut(self.t_title.render(data), 256),
            "description": _cut(self.t_message.render(data), 4096),
            "color": color,
            "timestamp": rfc3339(message.created_at),
            "footer": {"text": f"Watchkeeper · {message.receiver}"},
        }
        if data["dashboardURL"]:
            embed["url"] = data["dashboardURL"]
        fields = [
            {"name": k, "value": _cut(v, 1024), "inline": True}
            for k, v in sorted(message.common_labels.items())
            if k not in ("alertname",) and v
        ][:25]
        if fields:
            embed["fields"] = fields
        body: dict[str, Any] = {"embeds": [embed]}
        if self.t_content is not None:
            body["content"] = _cut(self.t_content.render(data), 2000)
        if self.cfg.username:
            body["username"] = self.cfg.username
        if self.cfg.avatar_url:
            body["avatar_url"] = self.cfg.avatar_url
        return body

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        url = self.cfg.webhook_url.reveal()
        url += ("&" if "?" in url else "?") + "wait=true"
        response = await request(
            self.client,
            "POST",
            url,
            service="Discord",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            check=False,
            json=self.body(message),
        )
        if response.status_code == 429:
            # Discord says how long in the JSON body as well as in Retry-After
            try:
                retry = float(response.json().get("retry_after"))
            except (ValueError, TypeError, AttributeError):
                retry = parse_retry_after(response.headers.get("retry-after"), self.now()) or 1.0
            from watchkeeper.core.errors import DeliveryError, DeliveryFailure

            raise DeliveryError(
                f"Discord rate limited the webhook; retrying after {retry:g}s",
                reason=DeliveryFailure.RATE_LIMITED,
                status_code=429,
                retry_after=retry,
            )
        from watchkeeper.notify.http import check_response

        check_response(response, service="Discord", now=self.now(), redact=self.redact)
        message_id = None
        try:
            answer = response.json()
            message_id = str(answer.get("id")) if isinstance(answer, dict) else None
        except ValueError:
            message_id = None
        return DeliveryReceipt(
            response.status_code,
            f"{response.status_code} {response.reason_phrase}"
            + (f": message {message_id}" if message_id else ""),
            remote_id=message_id,
        )
