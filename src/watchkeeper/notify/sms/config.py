"""``sms_configs`` entry (Watchkeeper's own): SMS through Twilio's Messages API."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.notify.httpconfig import HTTPClientConfig

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SMSConfig(StrictModel):
    send_resolved: bool = False
    http_config: HTTPClientConfig | None = None
    api_url: str = Field("https://api.twilio.com", description="Twilio API base URL")
    account_sid: str = Field(description="Twilio Account SID (AC…)")
    auth_token: Secret = Field(description="Twilio auth token (or auth_token_file)")
    from_: str | None = Field(None, alias="from", description="sender number in E.164 (+1…)")
    messaging_service_sid: str | None = Field(None, description="MG… instead of from")
    to: list[str] = Field(min_length=1, description="recipients in E.164 (+15551234567)")
    message: str | None = Field(None, description="SMS text (Jinja2), max 1600 characters")
    events: list[NotificationEvent] = Field(
        default_factory=lambda: [
            NotificationEvent.FIRING,
            NotificationEvent.RESOLVED,
            NotificationEvent.ESCALATED,
            NotificationEvent.TEST,
        ],
        description="which events send an SMS",
    )
    timeout: Duration = Duration(10)

    @field_validator("to")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        for n in numbers:
            if not E164.match(n):
                raise ValueError(f"{n!r} is not an E.164 number such as +15551234567")
        return numbers

    @model_validator(mode="after")
    def _sender(self) -> SMSConfig:
        if not self.from_ and not self.messaging_service_sid:
            raise ValueError("give from (a Twilio number) or messaging_service_sid")
        if self.from_ and not E164.match(self.from_):
            raise ValueError(f"from {self.from_!r} is not an E.164 number such as +15551234567")
        return self

    def wants(self, event: NotificationEvent) -> bool:
        if event is NotificationEvent.RESOLVED and not self.send_resolved:
            return False
        return event in self.events
