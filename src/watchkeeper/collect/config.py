"""What every check config has in common."""

from __future__ import annotations

from pydantic import Field, field_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.labels import is_valid_label_name

RESERVED_LABELS = frozenset({"service", "check", "__name__"})


class CheckBase(StrictModel):
    """Fields shared by every check kind. ``type`` selects the kind."""

    type: str
    name: str | None = Field(None, description="unique within the service; defaults to the type")
    interval: Duration | None = Field(None, description="default: global.scrape_interval")
    timeout: Duration | None = Field(
        None, description="default: global.scrape_timeout (never longer than the interval)"
    )
    job: str | None = Field(None, description="job label of this check's series (default: service)")
    labels: dict[str, str] = Field(default_factory=dict, description="added to every series")
    enabled: bool = True

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not is_valid_label_name(name) or name.startswith("__"):
                raise ValueError(
                    f"label name {name!r} is not valid: use letters, digits and _, "
                    "not starting with a digit or __"
                )
            if name in RESERVED_LABELS:
                raise ValueError(
                    f"label {name!r} is set by Watchkeeper (service and check names); "
                    "remove it from labels"
                )
        return value

    @property
    def check_name(self) -> str:
        return self.name or self.type

    def instance(self) -> str:
        """The ``instance`` label of this check's series."""
        return self.check_name
