"""``telegram_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig


class TelegramConfig(StrictModel):
    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    api_url: str = Field("https://api.telegram.org", description="Bot API base URL")
    bot_token: Secret = Field(description="bot token from @BotFather (or bot_token_file)")
    chat_id: int = Field(description="chat to post to (negative for groups)")
    message_thread_id: int | None = None
    message: str | None = Field(None, description="message text (Jinja2)")
    disable_notifications: bool = False
    parse_mode: Literal["HTML", "Markdown", "MarkdownV2", ""] = "HTML"
    timeout: Duration = Duration(10)
