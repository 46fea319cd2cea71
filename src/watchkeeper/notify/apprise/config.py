"""``apprise_configs`` entry (Watchkeeper's own): the long tail through Apprise URLs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration


class AppriseConfig(StrictModel):
    send_resolved: bool = True
    urls: list[Secret] = Field(
        min_length=1,
        description="Apprise URLs, e.g. ntfys://ntfy.sh/topic, gotify://host/token "
        "(they carry tokens: use ${ENV} or urls_file)",
    )
    title: str | None = Field(None, description="title (Jinja2)")
    body: str | None = Field(None, description="body (Jinja2)")
    format: Literal["text", "markdown", "html"] = "markdown"
    timeout: Duration = Duration(15)
