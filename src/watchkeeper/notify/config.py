"""``receivers`` entries, in Alertmanager's format: a name and lists of channel configs.

An Alertmanager receiver block loads unchanged: the ``*_configs`` lists use Alertmanager's
field names (``webhook_configs``, ``slack_configs``, ``email_configs``,
``pagerduty_configs``, ``opsgenie_configs``, ``telegram_configs``, ``msteams_configs``,
``msteamsv2_configs``, ``discord_configs``); ``sms_configs`` (Twilio) and
``apprise_configs`` are Watchkeeper's own.
"""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import StrictModel
from watchkeeper.notify.webhook.config import WebhookConfig

# channel name -> the receiver field that lists its configs, in a fixed order
CHANNEL_FIELDS: dict[str, str] = {
    "webhook": "webhook_configs",
    "slack": "slack_configs",
    "email": "email_configs",
    "pagerduty": "pagerduty_configs",
    "opsgenie": "opsgenie_configs",
    "telegram": "telegram_configs",
    "msteams": "msteams_configs",
    "msteamsv2": "msteamsv2_configs",
    "discord": "discord_configs",
    "sms": "sms_configs",
    "apprise": "apprise_configs",
}


class ReceiverConfig(StrictModel):
    name: str = Field(min_length=1)
    webhook_configs: list[WebhookConfig] = Field(default_factory=list)

    def integrations(self) -> list[tuple[str, int, StrictModel]]:
        """(channel, index, config) for every channel config of this receiver."""
        out: list[tuple[str, int, StrictModel]] = []
        for channel, field_name in CHANNEL_FIELDS.items():
            configs = getattr(self, field_name, None) or []
            out.extend((channel, i, c) for i, c in enumerate(configs))
        return out
