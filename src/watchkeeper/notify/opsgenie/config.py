"""``opsgenie_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field, field_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import HTTPClientConfig

RESPONDER_TYPES = ("team", "teams", "user", "escalation", "schedule")


class OpsGenieResponder(StrictModel):
    id: str | None = None
    name: str | None = None
    username: str | None = None
    type: str

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if "{{" not in value and value.lower() not in RESPONDER_TYPES:
            raise ValueError(
                f"responder type {value!r} must be one of {', '.join(RESPONDER_TYPES)}"
            )
        return value.lower() if "{{" not in value else value


class OpsGenieConfig(StrictModel):
    send_resolved: bool = True
    http_config: HTTPClientConfig | None = None
    api_key: Secret | None = Field(None, description="GenieKey (or api_key_file)")
    api_url: str = Field("https://api.opsgenie.com/", description="API base URL")
    message: str | None = Field(None, description="alert message, max 130 chars (Jinja2)")
    description: str | None = None
    source: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    entity: str | None = None
    responders: list[OpsGenieResponder] = Field(default_factory=list)
    actions: str | None = Field(None, description="comma-separated")
    tags: str | None = Field(None, description="comma-separated")
    note: str | None = None
    priority: str | None = Field(None, description="P1..P5 (default: from labels.severity)")
    update_alerts: bool = False
    timeout: Duration = Duration(10)
