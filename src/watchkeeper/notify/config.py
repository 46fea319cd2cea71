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
from watchkeeper.notify.apprise.config import AppriseConfig
from watchkeeper.notify.discord.config import DiscordConfig
from watchkeeper.notify.email.config import EmailConfig
from watchkeeper.notify.msteams.config import MSTeamsConfig, MSTeamsV2Config
from watchkeeper.notify.opsgenie.config import OpsGenieConfig
from watchkeeper.notify.pagerduty.config import PagerdutyConfig
from watchkeeper.notify.slack.config import SlackConfig
from watchkeeper.notify.sms.config import SMSConfig
from watchkeeper.notify.telegram.config import TelegramConfig
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
    slack_configs: list[SlackConfig] = Field(default_factory=list)
    email_configs: list[EmailConfig] = Field(default_factory=list)
    pagerduty_configs: list[PagerdutyConfig] = Field(default_factory=list)
    opsgenie_configs: list[OpsGenieConfig] = Field(default_factory=list)
    telegram_configs: list[TelegramConfig] = Field(default_factory=list)
    msteams_configs: list[MSTeamsConfig] = Field(default_factory=list)
    msteamsv2_configs: list[MSTeamsV2Config] = Field(default_factory=list)
    discord_configs: list[DiscordConfig] = Field(default_factory=list)
    sms_configs: list[SMSConfig] = Field(default_factory=list, description="SMS via Twilio")
    apprise_configs: list[AppriseConfig] = Field(
        default_factory=list, description="any Apprise URL (ntfy, Gotify, Matrix, …)"
    )

    def integrations(self) -> list[tuple[str, int, StrictModel]]:
        """(channel, index, config) for every channel config of this receiver."""
        out: list[tuple[str, int, StrictModel]] = []
        for channel, field_name in CHANNEL_FIELDS.items():
            configs = getattr(self, field_name, None) or []
            out.extend((channel, i, c) for i, c in enumerate(configs))
        return out
