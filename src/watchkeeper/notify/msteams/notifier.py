"""Microsoft Teams: an Adaptive Card (schema 1.4) in a ``message`` with one attachment,
the shape both workflow webhooks and incoming webhooks accept.

Workflows answer ``202 Accepted``; classic incoming webhooks answer ``200`` with ``1`` and,
when throttled, an HTTP 200 whose text says "429" — that is treated as rate limited."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target
from watchkeeper.notify.http import request, summarize
from watchkeeper.notify.msteams.config import MSTeamsConfig, MSTeamsV2Config

TITLE = "{{ title }}"
TEXT = (
    "{% for a in alerts[:10] %}**{{ a.annotations.summary or a.labels.alertname }}**"
    "{% if a.status == 'resolved' %} (resolved){% endif %}\n\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n\n{% endif %}"
    "{% endfor %}{% if alerts | length > 10 %}…and {{ alerts | length - 10 }} more{% endif %}"
)
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


class MSTeamsNotifier(BaseNotifier):
    channel: ClassVar[str] = "msteams"
    stateful: ClassVar[bool] = False

    def __init__(
        self, config: MSTeamsConfig | MSTeamsV2Config, ctx: NotifierContext, *, where: str
    ) -> None:
        super().__init__(config, ctx, where=where, secrets=[config.webhook_url.reveal()])
        self.cfg = config
        self.t_title = self.template("title", config.title, TITLE)
        self.t_text = self.template("text", config.text, TEXT)
        summary = getattr(config, "summary", None)
        self.t_summary = self.template("summary", summary, TITLE)

    def describe(self) -> str:
        return f"Teams webhook {safe_target(self.cfg.webhook_url.reveal())}"

    def card(self, message: NotificationMessage) -> dict[str, Any]:
        data = self.data(message)
        color = (
            "Accent"
            if message.is_test
            else (
                "Warning"
                if message.event.value == "acknowledged"
                else "Attention"
                if message.status.value == "firing"
                else "Good"
            )
        )
        facts = [
            {"title": k, "value": v}
            for k, v in sorted(message.common_labels.items())
            if k != "alertname"
        ]
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": self.t_title.render(data),
                "weight": "Bolder",
                "size": "Medium",
                "color": color,
                "wrap": True,
                "style": "heading",
            },
            {"type": "TextBlock", "text": self.t_text.render(data), "wrap": True},
        ]
        if facts:
            body.append({"type": "FactSet", "facts": facts})
        actions = []
        if data["dashboardURL"]:
            actions.append(
                {
                    "type": "Action.OpenUrl",
                    "title": "Open in Watchkeeper",
                    "url": data["dashboardURL"],
                }
            )
        source = next((a.generator_url for a in message.alerts if a.generator_url), "")
        if source:
            actions.append({"type": "Action.OpenUrl", "title": "Source", "url": source})
        card: dict[str, Any] = {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "msteams": {"width": "Full"},
            "fallbackText": self.t_summary.render(data),
        }
        if actions:
            card["actions"] = actions
        return {
            "type": "message",
            "summary": self.t_summary.render(data),
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        response = await request(
            self.client,
            "POST",
            self.cfg.webhook_url.reveal(),
            service="Microsoft Teams",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            json=self.card(message),
            headers=self.auth_headers(),
        )
        text = response.text.strip()
        if response.status_code == 200 and "429" in text:
            raise DeliveryError(
                "Microsoft Teams throttled the webhook (HTTP 429 in the answer)",
                reason=DeliveryFailure.RATE_LIMITED,
                status_code=429,
            )
        return DeliveryReceipt(response.status_code, summarize(response, self.redact))


class MSTeamsV2Notifier(MSTeamsNotifier):
    channel: ClassVar[str] = "msteamsv2"
