"""``email_configs`` entry (Alertmanager's field names)."""

from __future__ import annotations

from pydantic import Field, field_validator

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.notify.httpconfig import TLSClientConfig


class EmailConfig(StrictModel):
    send_resolved: bool = False
    to: str = Field(description="recipient address(es), comma-separated")
    from_: str | None = Field(None, alias="from", description="sender address")
    smarthost: str | None = Field(None, description="SMTP server host:port (587, 465, 25)")
    hello: str = Field("localhost", description="name sent with EHLO")
    auth_username: str | None = None
    auth_password: Secret | None = None
    auth_secret: Secret | None = Field(None, description="CRAM-MD5 secret (not supported)")
    auth_identity: str | None = None
    require_tls: bool = Field(True, description="refuse to send without STARTTLS")
    force_implicit_tls: bool | None = Field(
        None, description="TLS from the first byte (default: when the port is 465)"
    )
    tls_config: TLSClientConfig | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="extra headers (Jinja2)")
    html: str | None = Field(None, description="HTML body (Jinja2)")
    text: str | None = Field(None, description="plain-text body (Jinja2)")
    timeout: Duration = Duration(20)

    @field_validator("headers")
    @classmethod
    def _unique_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for name in headers:
            canon = "-".join(p.capitalize() for p in name.split("-"))
            if canon in seen:
                raise ValueError(f"duplicate header {canon!r} in email config")
            seen[canon] = name
        return headers
