"""``webhook_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration


class WebhookConfig(StrictModel):
    url: Secret = Field(description="where to POST the payload (use url_file for a secret URL)")
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0, description="0 = all alerts of the group")
    timeout: Duration = Field(Duration(10), description="per-request timeout")
