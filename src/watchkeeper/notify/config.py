"""``receivers`` entries, in Alertmanager's format: a name and lists of channel configs."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import StrictModel
from watchkeeper.notify.webhook.config import WebhookConfig


class ReceiverConfig(StrictModel):
    name: str = Field(min_length=1)
    webhook_configs: list[WebhookConfig] = Field(default_factory=list)

    def integrations(self) -> list[tuple[str, int, StrictModel]]:
        """(channel, index, config) for every channel config of this receiver."""
        return [("webhook", i, c) for i, c in enumerate(self.webhook_configs)]
