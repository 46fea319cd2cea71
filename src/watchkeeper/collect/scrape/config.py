"""``type: scrape`` check config."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret, StrictModel


class BasicAuth(StrictModel):
    username: str
    password: Secret


class ScrapeConfig(CheckBase):
    type: Literal["scrape"] = "scrape"
    url: str = Field(description="URL of the metrics endpoint, e.g. http://host:9100/metrics")
    honor_labels: bool = False
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    bearer_token: Secret | None = None
    sample_limit: int = Field(0, ge=0, description="0 = no limit; more samples fail the scrape")
    verify_tls: bool = True
    ca_file: str | None = Field(None, description="PEM file of CAs to trust besides the system's")
    honor_timestamps: bool = Field(True, description="use timestamps given in the exposition")
    body_size_limit: int = Field(
        50 * 1024 * 1024, ge=1, description="bytes; a larger answer fails the scrape"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    def instance(self) -> str:
        return urlsplit(self.url).netloc
