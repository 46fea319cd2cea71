"""``discord_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig


class DiscordConfig(StrictModel):
    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    webhook_url: Secret = Field(description="Discord webhook URL (or webhook_url_file)")
    title: str | None = Field(None, description="embed title (Jinja2)")
    message: str | None = Field(None, description="embed description (Jinja2)")
    content: str | None = Field(None, description="plain message text above the embed")
    username: str | None = None
    avatar_url: str | None = None
    timeout: Duration = Duration(10)
