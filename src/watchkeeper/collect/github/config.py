"""``type: github`` check config."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration

_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GithubCheckConfig(CheckBase):
    type: Literal["github"] = "github"
    token: Secret = Field(description="token with Actions: read on the repository")
    repo: str = Field(description="owner/name")
    workflow: str | None = Field(None, description="workflow file (ci.yml) or id; default all")
    branch: str = "main"
    base_url: str = "https://api.github.com"
    per_page: int = Field(30, ge=1, le=100)
    max_pages: int = Field(3, ge=1, le=10, description="pages read to find the streak's end")
    call_timeout: Duration = Field(Duration(10), description="timeout of one API call")

    @field_validator("repo")
    @classmethod
    def _check_repo(cls, value: str) -> str:
        if not _REPO_RE.match(value):
            raise ValueError(f"expected owner/name such as acme/api, got {value!r}")
        return value

    def instance(self) -> str:
        return f"{self.repo}@{self.branch}"
