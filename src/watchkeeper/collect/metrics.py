"""The scheduler's own metrics, registered on an injected prometheus_client registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "watchkeeper_collect_runs",
            "Collector runs by kind and outcome (ok or the failure reason).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "watchkeeper_collect_run_duration_seconds",
            "How long collector runs took.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.skipped = Counter(
            "watchkeeper_collect_skipped_runs",
            "Runs not started because the target's previous run was still going.",
            ["kind"],
            registry=registry,
        )
        self.targets = Gauge(
            "watchkeeper_collect_targets",
            "Targets scheduled, by kind.",
            ["kind"],
            registry=registry,
        )
        self.samples = Counter(
            "watchkeeper_collect_samples_appended",
            "Samples (including synthetic series and staleness markers) handed to the store.",
            registry=registry,
        )
        self.store_errors = Counter(
            "watchkeeper_collect_store_errors",
            "Appends the store refused with an error.",
            registry=registry,
        )
