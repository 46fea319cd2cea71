"""Samples reach every instance: each instance sends what it stores to its peers.

With an embedded store per process, the samples an instance collects must reach the
leader, which evaluates the rules. Sending them to *every* live peer (not just the leader)
means each embedded store holds all series: any instance answers queries and draws the
dashboard's charts, and a newly elected leader already has the history its rules read
(``rate(x[5m])``, ``for`` windows), so a failover neither resolves nor re-fires anything.

:class:`ClusterStore` wraps the store the scheduler, the rule evaluator and the push
receivers append to: each append goes to the local store, then to
:class:`PeerReplicator`, which keeps one Prometheus remote-write sender per peer
(:class:`~watchkeeper.remote.writer.RemoteWriter`: protobuf + snappy, a disk queue under
``<data>/cluster_peers/``, retries with backoff) posting to the peer's
``/api/v1/cluster/samples`` with the cluster's shared key. Samples received from a peer go
straight into the local store, never on to other peers. A peer that leaves gets its sender
stopped and its queue deleted; a peer that joins receives samples from then on (no
backfill).

The other path, for more data than an embedded store per instance should hold: every
instance remote-writes to one shared TSDB (``storage.remote_write``) and queries it
(``storage.query_url``), with ``cluster.replicate_samples: false``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.core.clock import Clock
from watchkeeper.core.durations import Duration
from watchkeeper.remote.config import ByteSize, QueueConfig, RemoteWriteConfig
from watchkeeper.remote.service import ForwardingStore, RemoteWriteService
from watchkeeper.remote.writer import RemoteWriteMetrics, RemoteWriter
from watchkeeper.tsdb.base import AppendResult, Sample, SeriesStore

log = logging.getLogger(__name__)

SAMPLES_PATH = "/api/v1/cluster/samples"
KEY_HEADER = "X-Watchkeeper-Cluster-Key"
PEERS_DIR = "cluster_peers"
PEER_QUEUE = QueueConfig(
    max_samples_per_send=5000,
    batch_send_deadline=Duration(0.2),
    capacity=200_000,
    max_disk_bytes=ByteSize(256 * 1024**2),
    min_backoff=Duration(0.1),
    max_backoff=Duration(2),
)


def queue_name(member_id: str) -> str:
    return "peer-" + re.sub(r"[^a-zA-Z0-9_.-]", "_", member_id)


class PeerReplicator(RemoteWriteService):
    """One remote-write sender per peer; :meth:`set_peers` follows the member list."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__([])
        self.directory = data_dir / PEERS_DIR
        self.clock = clock
        self.transport = transport
        self.metrics = RemoteWriteMetrics(None)
        self.key = ""
        self._peers: dict[str, tuple[str, RemoteWriter]] = {}
        self._started = False

    async def start(self) -> None:
        self._started = True
        # queues of peers from an earlier run are stale: those peers are new processes now
        if self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)

    async def stop(self) -> None:
        self._started = False
        peers, self._peers = self._peers, {}
        self.writers = []
        for _url, writer in peers.values():
            await writer.stop()

    async def set_peers(self, peers: Mapping[str, str]) -> None:
        """``peers``: member id -> base URL of every live member but this one."""
        if not self._started:
            return
        for member_id in [m for m in self._peers if self._peers[m][0] != peers.get(m)]:
            _url, writer = self._peers.pop(member_id)
            await writer.stop()
            shutil.rmtree(writer.queue.directory, ignore_errors=True)
            log.info("stopped sending samples to %s (left the cluster)", member_id)
        for member_id, url in peers.items():
            if member_id in self._peers:
                continue
            name = queue_name(member_id)
            config = RemoteWriteConfig(
                url=url.rstrip("/") + SAMPLES_PATH,
                name=name,
                headers={KEY_HEADER: self.key},
                timeout=Duration(10),
                queue=PEER_QUEUE,
            )
            writer = RemoteWriter(
                config,
                directory=self.directory / name,
                clock=self.clock,
                metrics=self.metrics,
                transport=self.transport,
            )
            await writer.start()
            self._peers[member_id] = (url, writer)
            log.info("sending samples to %s at %s", member_id, url)
        self.writers = [writer for _url, writer in self._peers.values()]

    def peer_status(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for member_id, (_url, writer) in sorted(self._peers.items()):
            status = writer.status()
            status.pop("url", None)
            out[member_id] = status
        return out


class ClusterStore(ForwardingStore):
    """The store appends go through in a cluster: local store, then peers; the staleness
    markers of targets being handed over (see :meth:`handing_over`) are dropped."""

    def __init__(self, inner: SeriesStore, peers: RemoteWriteService) -> None:
        super().__init__(inner, peers)
        self._handing_over: frozenset[str] = frozenset()

    @contextlib.contextmanager
    def handing_over(self, keys: Iterable[str]) -> Iterator[None]:
        """While the scheduler retires these targets (they move to another instance), what
        it appends for them — staleness markers only — is dropped."""
        before = self._handing_over
        self._handing_over = before | frozenset(keys)
        try:
            yield
        finally:
            self._handing_over = before

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        if source is not None and source in self._handing_over:
            return AppendResult()
        return super().append(samples, source=source)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
