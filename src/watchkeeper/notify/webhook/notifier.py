"""POST the Alertmanager webhook payload (version 4), or a custom Jinja2 body, with
optional HMAC-SHA256 signature headers.

Signature: ``X-Watchkeeper-Timestamp: <unix seconds>`` and
``X-Watchkeeper-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``; a
receiver recomputes it and rejects old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar

from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target
from watchkeeper.notify.http import request, summarize
from watchkeeper.notify.webhook.config import WebhookConfig


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookNotifier(BaseNotifier):
    channel: ClassVar[str] = "webhook"
    stateful: ClassVar[bool] = False

    def __init__(self, config: WebhookConfig, ctx: NotifierContext, *, where: str) -> None:
        secrets = [config.url.reveal()]
        secrets += [v.reveal() for v in config.headers.values()]
        if config.hmac_secret:
            secrets.append(config.hmac_secret.reveal())
        super().__init__(config, ctx, where=where, secrets=secrets)
        self.cfg = config
        self.body = (
            self.template("body_template", config.body_template, "")
            if config.body_template
            else None
        )

    def describe(self) -> str:
        return f"POST {safe_target(self.cfg.url.reveal())}"

    def payload(self, message: NotificationMessage) -> dict[str, Any]:
        payload = message.webhook_payload()
        limit = self.cfg.max_alerts
        if limit and len(payload["alerts"]) > limit:
            payload["truncatedAlerts"] = int(payload["truncatedAlerts"]) + (
                len(payload["alerts"]) - limit
            )
            payload["alerts"] = payload["alerts"][:limit]
        return payload

    def render(self, message: NotificationMessage) -> bytes:
        payload = self.payload(message)
        if self.body is None:
            return json.dumps(payload, separators=(",", ":")).encode()
        data = self.data(message)
        data["payload"] = payload
        return self.body.render(data).encode()

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        body = self.render(message)
        headers = {
            "Content-Type": self.cfg.content_type,
            # the v4 body has no field for events beyond firing/resolved (ack, escalation)
            "X-Watchkeeper-Event": message.event.value,
            **self.auth_headers(),
        }
        headers.update({k: v.reveal() for k, v in self.cfg.headers.items()})
        if self.cfg.hmac_secret:
            ts = int(self.now())
            headers[self.cfg.timestamp_header] = str(ts)
            headers[self.cfg.signature_header] = sign(self.cfg.hmac_secret.reveal(), ts, body)
        response = await request(
            self.client,
            "POST",
            self.cfg.url.reveal(),
            service="webhook receiver",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            content=body,
            headers=headers,
        )
        return DeliveryReceipt(response.status_code, summarize(response, self.redact))
