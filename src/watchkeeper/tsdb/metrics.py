"""Self-metrics of the embedded TSDB, on an injected ``prometheus_client`` registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class StoreMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None,
        *,
        head_series: Callable[[], float],
        head_samples: Callable[[], float],
        series_total: Callable[[], float],
        bytes_on_disk: Callable[[], float],
    ) -> None:
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        p = "watchkeeper_tsdb_"
        self.samples_appended = Counter(
            f"{p}samples_appended", "Samples appended to the store.", registry=reg
        )
        self.out_of_order = Counter(
            f"{p}out_of_order_samples",
            "Samples refused for being older than their series' newest sample by more than "
            "the out-of-order window.",
            registry=reg,
        )
        self.duplicates = Counter(
            f"{p}duplicate_samples",
            "Samples ignored because their series already has that timestamp.",
            registry=reg,
        )
        self.rejected_series = Counter(
            f"{p}rejected_series",
            "New series refused by a cardinality limit.",
            ["limit"],
            registry=reg,
        )
        self.series_created = Counter(f"{p}series_created", "Series created.", registry=reg)
        self.wal_fsync = Histogram(
            f"{p}wal_fsync_duration_seconds",
            "Duration of write-ahead log fsyncs.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=reg,
        )
        self.flushes = Counter(
            f"{p}head_flushes", "Head flushes (head samples written as chunks).", registry=reg
        )
        self.flush_failures = Counter(
            f"{p}head_flush_failures", "Head flushes that failed.", registry=reg
        )
        self.compactions = Counter(f"{p}compactions", "Compaction runs.", registry=reg)
        self.compaction_failures = Counter(
            f"{p}compaction_failures", "Compaction runs that failed.", registry=reg
        )
        self.listener_errors = Counter(
            f"{p}listener_errors", "Append listeners that raised.", registry=reg
        )
        Gauge(f"{p}head_series", "Active series in the head.", registry=reg).set_function(
            head_series
        )
        Gauge(f"{p}head_samples", "Samples held in the head.", registry=reg).set_function(
            head_samples
        )
        Gauge(f"{p}series", "Series known to the store.", registry=reg).set_function(series_total)
        Gauge(
            f"{p}bytes_on_disk", "Bytes of chunk files and write-ahead log.", registry=reg
        ).set_function(bytes_on_disk)
