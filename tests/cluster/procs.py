"""The cluster tests' process helper lives in the package, shared with the benchmarks:
:mod:`watchkeeper.testing.cluster`."""

from __future__ import annotations

from watchkeeper.testing.cluster import (
    START_TIMEOUT,
    Instance,
    LocalCluster,
    cluster_config,
    dump,
    local_cluster,
)

__all__ = [
    "START_TIMEOUT",
    "Instance",
    "LocalCluster",
    "cluster_config",
    "dump",
    "local_cluster",
]
