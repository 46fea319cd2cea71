"""``type: vercel`` check config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration


class VercelCheckConfig(CheckBase):
    type: Literal["vercel"] = "vercel"
    token: Secret = Field(description="Vercel access token (read access to the project)")
    project: str = Field(description="project id (prj_...) or name")
    team_id: str | None = Field(None, description="team id (team_...) for team projects")
    base_url: str = "https://api.vercel.com"
    deployments: int = Field(20, ge=1, le=500, description="recent production deployments read")
    max_pages: int = Field(3, ge=1, le=20, description="pages read per list at most")
    check_domains: bool = Field(True, description="read the production domains' state")
    call_timeout: Duration = Field(Duration(10), description="timeout of one API call")

    def instance(self) -> str:
        return self.project
