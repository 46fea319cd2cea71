"""``slack_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field, model_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.notify.httpconfig import HTTPClientConfig


class SlackField(StrictModel):
    title: str
    value: str
    short: bool | None = None


class SlackConfirm(StrictModel):
    text: str
    title: str = ""
    ok_text: str = ""
    dismiss_text: str = ""


class SlackAction(StrictModel):
    type: str
    text: str
    url: str = ""
    style: str = ""
    name: str = ""
    value: str = ""
    confirm: SlackConfirm | None = None


class SlackConfig(StrictModel):
    send_resolved: bool = False
    http_config: HTTPClientConfig | None = None
    api_url: Secret | None = Field(
        None, description="incoming webhook URL (or api_url_file); or use app_token"
    )
    app_token: Secret | None = Field(
        None, description="bot token (xoxb-…) for chat.postMessage / chat.update"
    )
    app_url: str = Field("https://slack.com/api/", description="Web API base URL (bot token)")
    channel: str | None = Field(None, description="#channel, @user or channel id")
    username: str | None = None
    color: str | None = None
    title: str | None = None
    title_link: str | None = None
    pretext: str | None = None
    text: str | None = None
    fields: list[SlackField] = Field(default_factory=list)
    short_fields: bool = False
    footer: str | None = None
    fallback: str | None = None
    callback_id: str | None = None
    icon_emoji: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    thumb_url: str | None = None
    link_names: bool = False
    mrkdwn_in: list[str] = Field(default_factory=list)
    actions: list[SlackAction] = Field(default_factory=list)
    update_message: bool = Field(
        True, description="bot token: update the group's message in place on ack/resolve"
    )
    timeout: Duration = Duration(10)

    def wants(self, event: NotificationEvent) -> bool:
        """Resolved events are queued with send_resolved, or to update the bot's message."""
        if event is NotificationEvent.RESOLVED:
            return self.send_resolved or bool(self.app_token and self.update_message)
        return True

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackConfig:
        if self.app_token and self.api_url:
            raise ValueError("give either api_url (incoming webhook) or app_token (bot), not both")
        if self.app_token and not self.channel:
            raise ValueError("a bot token (app_token) needs a channel to post to")
        return self
