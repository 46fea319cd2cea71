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
    job: str | None = Field(None, description="job label (default: the service name)")
    honor_labels: bool = False
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    bearer_token: Secret | None = None
    sample_limit: int = Field(0, ge=0, description="0 = no limit; more samples fail the scrape")
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    def instance(self) -> str:
        return urlsplit(self.url).netloc
