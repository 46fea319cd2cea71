"""``type: supabase`` check config."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration

_REF_RE = re.compile(r"^[a-z0-9]{20}$")


class SupabaseCheckConfig(CheckBase):
    type: Literal["supabase"] = "supabase"
    token: Secret = Field(description="Management API personal access token (sbp_...)")
    project_ref: str = Field(description="the 20-character project ref")
    base_url: str = "https://api.supabase.com"
    service_role_key: Secret | None = Field(
        None, description="service-role key: enables the Prometheus metrics endpoint"
    )
    metrics_url: str | None = Field(
        None, description="default https://<ref>.supabase.co/customer/v1/privileged/metrics"
    )
    components: list[str] = Field(
        default_factory=lambda: ["auth", "db", "rest", "realtime", "storage", "pooler"],
        description="services asked of the health endpoint",
    )
    usage: bool = Field(True, description="read usage.api-counts")
    call_timeout: Duration = Field(Duration(10), description="timeout of one API call")

    @field_validator("project_ref")
    @classmethod
    def _check_ref(cls, value: str) -> str:
        if not _REF_RE.match(value):
            raise ValueError(
                f"project_ref {value!r} must be the 20 lower-case letters/digits of the "
                "project's ref (Project Settings -> General)"
            )
        return value

    def instance(self) -> str:
        return self.project_ref

    def resolved_metrics_url(self) -> str:
        return (
            self.metrics_url
            or f"https://{self.project_ref}.supabase.co/customer/v1/privileged/metrics"
        )
