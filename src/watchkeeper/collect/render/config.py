"""``type: render`` check config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration


class RenderCheckConfig(CheckBase):
    type: Literal["render"] = "render"
    token: Secret = Field(description="Render API key")
    service_id: str = Field(description="srv-...")
    base_url: str = "https://api.render.com/v1"
    metrics: bool = Field(True, description="read the /metrics endpoints")
    metrics_window: Duration = Field(Duration(600), description="how far back metrics are read")
    resolution: Duration = Field(Duration(60), description="metrics resolution")
    latency_quantiles: list[float] = Field(default_factory=lambda: [0.5, 0.95, 0.99])
    call_timeout: Duration = Field(Duration(10), description="timeout of one API call")

    def instance(self) -> str:
        return self.service_id
