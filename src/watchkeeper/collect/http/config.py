"""``type: http`` check config."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration


class BodyAssertions(StrictModel):
    """Assertions on the response body; every one given must hold."""

    contains: list[str] = Field(default_factory=list, description="substrings that must appear")
    not_contains: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list, description="regexes that must match")
    json_path: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description="dotted paths into a JSON body and the value each must have, "
        "e.g. {'status': 'ok', 'checks.db': true}",
    )


class HttpCheckConfig(CheckBase):
    type: Literal["http"] = "http"
    url: str = Field(description="http:// or https:// URL to request")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token: Secret | None = None
    body: str | None = None
    expected_status: list[int] = Field(
        default_factory=list, description="accepted status codes (default: any 2xx)"
    )
    body_assertions: BodyAssertions = Field(default_factory=BodyAssertions)
    max_latency: Duration | None = Field(None, description="slower answers fail the check")
    follow_redirects: bool = True
    verify_tls: bool = Field(
        True, description="false accepts any certificate (its expiry is still read)"
    )
    ca_file: str | None = Field(None, description="PEM file of CAs to trust besides the system's")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1, description="bytes of body read at most")
    tls_expiry_warning: Duration = Field(
        Duration(14 * 86400), description="certificate expiry closer than this is reported"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    def instance(self) -> str:
        return self.url
