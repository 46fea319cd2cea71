"""``storage`` section: the embedded TSDB (and, later, remote engines)."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration


class StorageConfig(StrictModel):
    path: str = Field("./data", description="data directory (SQLite files, WAL)")
    retention: Duration = Field(Duration(30 * 86400), description="how long raw samples are kept")
    max_series: int = Field(1_000_000, ge=1, description="active series limit, all targets")
    max_series_per_target: int = Field(
        100_000, ge=1, description="active series limit per target (job/instance)"
    )
