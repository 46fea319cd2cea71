"""``webhook_configs`` entry (Alertmanager's field names, plus Watchkeeper's custom body,
headers and HMAC signature)."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig


class WebhookConfig(StrictModel):
    url: Secret = Field(description="where to POST the payload (use url_file for a secret URL)")
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0, description="0 = all alerts of the group")
    timeout: Duration = Field(Duration(10), description="per-request timeout (0 = none)")
    http_config: HTTPClientConfig | None = None
    body_template: str | None = Field(
        None,
        description="Jinja2 template of the request body instead of the Alertmanager payload "
        "(the payload is available as `payload`)",
    )
    content_type: str = Field("application/json", description="Content-Type of the body")
    headers: dict[str, Secret] = Field(
        default_factory=dict, description="extra request headers (values are secrets)"
    )
    hmac_secret: Secret | None = Field(
        None,
        description="sign each request: HMAC-SHA256 over '<timestamp>.<body>' with this key",
    )
    signature_header: str = "X-Watchkeeper-Signature"
    timestamp_header: str = "X-Watchkeeper-Timestamp"
