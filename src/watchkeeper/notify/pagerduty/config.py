"""``pagerduty_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field, model_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig


class PagerdutyLink(StrictModel):
    href: str = ""
    text: str = ""


class PagerdutyImage(StrictModel):
    src: str = ""
    alt: str = ""
    href: str = ""


class PagerdutyConfig(StrictModel):
    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    routing_key: Secret | None = Field(None, description="Events API v2 integration key")
    service_key: Secret | None = Field(
        None, description="Events API v1 key (not supported; use routing_key)"
    )
    url: str = Field("https://events.pagerduty.com/v2/enqueue", description="Events API URL")
    client: str = "Watchkeeper"
    client_url: str | None = Field(None, description="default: the dashboard link")
    description: str | None = Field(None, description="the summary (Jinja2)")
    details: dict[str, str] = Field(default_factory=dict, description="custom details (Jinja2)")
    images: list[PagerdutyImage] = Field(default_factory=list)
    links: list[PagerdutyLink] = Field(default_factory=list)
    source: str | None = None
    severity: str | None = Field(
        None, description="critical, error, warning or info (default: from labels.severity)"
    )
    class_: str | None = Field(None, alias="class")
    component: str | None = None
    group: str | None = None
    timeout: Duration = Duration(10)

    @model_validator(mode="after")
    def _key(self) -> PagerdutyConfig:
        if not self.routing_key and not self.service_key:
            raise ValueError("missing routing_key (or routing_key_file) in PagerDuty config")
        return self
