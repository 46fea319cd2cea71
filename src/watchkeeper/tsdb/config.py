"""``storage`` section: the embedded TSDB (and, later, remote engines).

Timing knobs of the embedded engine, in the order data moves through it:

- every append is written to the write-ahead log before ``append()`` returns (so a
  ``kill -9`` loses nothing that was acknowledged); the log is fsynced every
  ``wal_fsync_interval`` (so a power loss loses at most that much);
- every ``flush_interval`` the head's new samples become compressed chunks in SQLite and
  the log segments they came from are deleted;
- the head keeps the last ``head_window`` of samples in memory for fast recent queries;
- every ``compaction_interval`` the small chunks of finished 2-hour windows are merged into
  one chunk per series and window, the 5m/1h rollups are computed, and retention runs.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.remote.config import (
    PushConfig,
    RemoteQueryConfig,
    RemoteWriteConfig,
    check_query_url,
    check_remote_write,
)


class StorageConfig(StrictModel):
    path: str = Field("./data", description="data directory (SQLite files, WAL)")
    retention: Duration = Field(Duration(30 * 86400), description="how long raw samples are kept")
    rollup_5m_retention: Duration = Field(
        Duration(90 * 86400), description="how long 5-minute rollups (min/max/sum/count) are kept"
    )
    rollup_1h_retention: Duration = Field(
        Duration(400 * 86400), description="how long 1-hour rollups (min/max/sum/count) are kept"
    )
    max_series: int = Field(1_000_000, ge=1, description="active series limit, all targets")
    max_series_per_target: int = Field(
        100_000, ge=1, description="active series limit per target (job/instance)"
    )
    out_of_order_window: Duration = Field(
        Duration(600),
        description=(
            "a sample older than its series' newest sample is still accepted when it is at "
            "most this much older; 0 rejects every out-of-order sample"
        ),
    )
    wal_fsync_interval: Duration = Field(
        Duration(1), description="how often the write-ahead log is fsynced (power-loss window)"
    )
    flush_interval: Duration = Field(
        Duration(120), description="how often head samples are written as chunks to SQLite"
    )
    head_window: Duration = Field(
        Duration(900), description="how much recent data stays in memory after a flush"
    )
    compaction_interval: Duration = Field(
        Duration(600), description="how often finished windows are compacted and retention runs"
    )

    push: PushConfig = Field(default_factory=PushConfig, description="limits of the push receivers")
    remote_write: list[RemoteWriteConfig] = Field(
        default_factory=list,
        description="remote TSDBs (VictoriaMetrics, Prometheus, Mimir) that receive a copy "
        "of every sample, through a persistent queue",
    )
    query_url: str | None = Field(
        None,
        description="a Prometheus-compatible query API (e.g. http://victoria:8428); when "
        "set, rules and dashboard queries go there instead of the embedded engine",
    )
    query: RemoteQueryConfig = Field(
        default_factory=RemoteQueryConfig, description="credentials and timeout for query_url"
    )

    _remote_write_names = field_validator("remote_write")(check_remote_write)
    _query_url = field_validator("query_url")(check_query_url)

    @model_validator(mode="after")
    def _positive_intervals(self) -> StorageConfig:
        for name in ("wal_fsync_interval", "flush_interval", "compaction_interval"):
            if float(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be greater than 0, e.g. 1s or 2m")
        if float(self.retention) < 3600:
            raise ValueError("retention must be at least 1h (e.g. 15d, 30d)")
        return self
