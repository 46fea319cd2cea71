"""What every check config has in common."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration


class CheckBase(StrictModel):
    """Fields shared by every check kind. ``type`` selects the kind."""

    type: str
    name: str | None = Field(None, description="unique within the service; defaults to the type")
    interval: Duration | None = Field(None, description="default: global.scrape_interval")
    timeout: Duration | None = Field(None, description="default: global.scrape_timeout")
    labels: dict[str, str] = Field(default_factory=dict, description="added to every series")
    enabled: bool = True

    @property
    def check_name(self) -> str:
        return self.name or self.type

    def instance(self) -> str:
        """The ``instance`` label of this check's series."""
        return self.check_name
