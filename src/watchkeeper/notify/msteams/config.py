"""``msteams_configs`` and ``msteamsv2_configs`` entries (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig


class MSTeamsConfig(StrictModel):
    """Incoming webhook (Office 365 connector) URL; sent as an Adaptive Card."""

    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    webhook_url: Secret = Field(description="Teams webhook URL (or webhook_url_file)")
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    timeout: Duration = Duration(10)


class MSTeamsV2Config(StrictModel):
    """Power Automate workflow ("Post to a channel when a webhook request is received")."""

    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    webhook_url: Secret = Field(description="workflow URL (or webhook_url_file)")
    title: str | None = None
    text: str | None = None
    timeout: Duration = Duration(10)
