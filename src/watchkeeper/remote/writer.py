"""The remote-write sender: every sample the store is given goes, through a persistent
queue, to one remote TSDB (VictoriaMetrics, Prometheus' receiver, Mimir).

Data path of one :class:`RemoteWriter`::

    enqueue(samples)  ->  memory buffer (queue.capacity samples)
        -> every queue.batch_send_deadline, or at once when max_samples_per_send are
           waiting: grouped by series, encoded, snappy-compressed, appended to the
           DiskQueue (a worker thread does this)
        -> one request at a time, oldest first (so each series stays in time order, which
           Prometheus' receiver requires): 2xx forgets it; 5xx, 429, timeouts and
           connection errors are retried with exponential backoff (queue.min_backoff ..
           queue.max_backoff, Retry-After honoured) until they succeed; any other 4xx means
           the remote refuses the data for good, so the request is dropped and counted as
           failed, as Prometheus does.

What a restart keeps: everything in the disk queue. What it loses: samples still in the
memory buffer at a ``kill -9`` (at most ``batch_send_deadline``); ``stop()`` writes them
to the queue first.

Backpressure shows in the metrics (label ``remote_name``): ``watchkeeper_remote_write_``
``pending_samples`` (memory), ``queue_samples``/``queue_bytes``/``queue_requests`` (disk),
``samples_sent_total``, ``samples_failed_total``, ``samples_dropped_total{reason}``
(``buffer_full``, ``queue_full``), ``retries_total``, ``requests_total{code}``,
``send_duration_seconds`` and ``highest_sent_timestamp_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from watchkeeper import __version__
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import DeliveryFailure
from watchkeeper.core.tasks import cancel, set_event
from watchkeeper.remote.codec import WriteEncoder
from watchkeeper.remote.config import RemoteWriteConfig
from watchkeeper.remote.queue import DiskQueue, QueuedBatch
from watchkeeper.tsdb.base import Sample

log = logging.getLogger(__name__)

_MAX_RETRY_AFTER_S = 300.0


class RemoteWriteMetrics:
    """The sender's metrics, shared by every endpoint (label ``remote_name``)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        p = "watchkeeper_remote_write_"
        n = ["remote_name"]
        self.pending = Gauge(
            f"{p}pending_samples", "Samples in memory, not yet queued.", n, registry=reg
        )
        self.queue_samples = Gauge(
            f"{p}queue_samples", "Samples in the disk queue.", n, registry=reg
        )
        self.queue_bytes = Gauge(f"{p}queue_bytes", "Bytes of the disk queue.", n, registry=reg)
        self.queue_requests = Gauge(
            f"{p}queue_requests", "Requests waiting in the disk queue.", n, registry=reg
        )
        self.sent = Counter(f"{p}samples_sent", "Samples the remote accepted.", n, registry=reg)
        self.sent_bytes = Counter(
            f"{p}sent_bytes", "Compressed request bytes the remote accepted.", n, registry=reg
        )
        self.failed = Counter(
            f"{p}samples_failed",
            "Samples the remote refused for good (4xx other than 429): dropped.",
            n,
            registry=reg,
        )
        self.dropped = Counter(
            f"{p}samples_dropped",
            "Samples dropped before sending: memory buffer or disk queue full.",
            [*n, "reason"],
            registry=reg,
        )
        self.retries = Counter(
            f"{p}retries", "Requests retried after a retryable failure.", n, registry=reg
        )
        self.requests = Counter(
            f"{p}requests",
            "Requests sent, by HTTP status code (or 'error').",
            [*n, "code"],
            registry=reg,
        )
        self.duration = Histogram(
            f"{p}send_duration_seconds",
            "Duration of one remote-write request.",
            n,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=reg,
        )
        self.highest_sent = Gauge(
            f"{p}highest_sent_timestamp_seconds",
            "Newest sample timestamp the remote accepted.",
            n,
            registry=reg,
        )


def classify(status: int | None, *, retry_on_429: bool) -> DeliveryFailure | None:
    """The failure a response status means (``None``: success; no status: transport)."""
    if status is None:
        return DeliveryFailure.CONNECTION
    if 200 <= status < 300:
        return None
    if status == 429:
        return DeliveryFailure.RATE_LIMITED if retry_on_429 else DeliveryFailure.CLIENT_ERROR
    if status >= 500 or status == 408:
        return DeliveryFailure.SERVER_ERROR
    return DeliveryFailure.AUTH if status in (401, 403) else DeliveryFailure.CLIENT_ERROR


_RETRYABLE = frozenset(
    {DeliveryFailure.CONNECTION, DeliveryFailure.RATE_LIMITED, DeliveryFailure.SERVER_ERROR}
)


class RemoteWriter:
    """One endpoint's sender. Build, ``await start()``, feed with :meth:`enqueue`,
    ``await stop()``."""

    def __init__(
        self,
        config: RemoteWriteConfig,
        *,
        directory: Path,
        clock: Clock,
        metrics: RemoteWriteMetrics,
        transport: httpx.AsyncBaseTransport | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.name = config.queue_name
        self.clock = clock
        self.queue = DiskQueue(directory, max_bytes=int(config.queue.max_disk_bytes), clock=clock)
        self._encoder = WriteEncoder(external_labels)
        self._m = metrics
        self._transport = transport
        self._buffer: list[Sample] = []
        self._buffer_lock = threading.Lock()
        self._encode_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_batcher = asyncio.Event()
        self._queued = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._highest_sent = 0.0
        self._client: httpx.AsyncClient | None = None
        self.last_error = ""
        name = self.name
        metrics.pending.labels(name).set_function(lambda: self.pending)
        metrics.queue_samples.labels(name).set_function(lambda: self.queue.depth().samples)
        metrics.queue_bytes.labels(name).set_function(lambda: self.queue.depth().bytes)
        metrics.queue_requests.labels(name).set_function(lambda: self.queue.depth().batches)

    # --- feeding --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Samples in memory, not yet in the disk queue."""
        return len(self._buffer)

    def enqueue(self, samples: Sequence[Sample]) -> None:
        """Take samples (any thread). Over ``queue.capacity`` they are dropped and counted."""
        if not samples:
            return
        q = self.config.queue
        with self._buffer_lock:
            room = q.capacity - len(self._buffer)
            if room >= len(samples):
                self._buffer.extend(samples)
                dropped = 0
            else:
                self._buffer.extend(samples[: max(0, room)])
                dropped = len(samples) - max(0, room)
            full = len(self._buffer) >= q.max_samples_per_send
        if dropped:
            self._m.dropped.labels(self.name, "buffer_full").inc(dropped)
        if full:
            self._signal(self._wake_batcher)

    def _signal(self, event: asyncio.Event) -> None:
        set_event(event, self._loop)

    async def flush(self) -> None:
        """Write everything in memory to the disk queue now."""
        async with self._encode_lock:
            with self._buffer_lock:
                samples, self._buffer = self._buffer, []
            if samples:
                await asyncio.to_thread(self._queue_samples, samples)
                self._queued.set()

    def _queue_samples(self, samples: list[Sample]) -> None:
        per = self.config.queue.max_samples_per_send
        for body, count, newest in self._encoder.encode_batches(samples, per):
            dropped = self.queue.put(body, count, newest)
            if dropped:
                self._m.dropped.labels(self.name, "queue_full").inc(dropped)

    # --- running --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        headers = {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            "User-Agent": f"Watchkeeper/{__version__}",
            **self.config.auth_headers(),
        }
        self._client = httpx.AsyncClient(
            transport=self._transport,
            headers=headers,
            timeout=httpx.Timeout(float(self.config.timeout)),
            follow_redirects=False,
        )
        self._tasks = [
            asyncio.create_task(self._batcher(), name=f"remote-write-batch:{self.name}"),
            asyncio.create_task(self._sender(), name=f"remote-write-send:{self.name}"),
        ]
        self._queued.set()

    async def stop(self) -> None:
        """Stop sending; what is in memory goes to the disk queue for the next start (an
        unfinished request stays queued and is sent again)."""
        tasks, self._tasks = self._tasks, []
        if tasks:
            self._stopping = True
            self._wake_batcher.set()
            batcher, sender = tasks
            await cancel(sender)
            await batcher  # it queues what is in memory, then ends
        else:
            await self.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.queue.close()
        self._loop = None

    async def _batcher(self) -> None:
        deadline = float(self.config.queue.batch_send_deadline)
        while not self._stopping:
            sleeper = asyncio.ensure_future(self.clock.sleep(deadline))
            waker = asyncio.ensure_future(self._wake_batcher.wait())
            try:
                done, _ = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for fut in (sleeper, waker):
                    fut.cancel()
            self._wake_batcher.clear()
            try:
                await self.flush()
                if sleeper in done:  # a quiet moment: fsync what busy puts left unsynced
                    await asyncio.to_thread(self.queue.sync)
            except Exception:
                log.exception("remote write %s: could not queue samples", self.name)

    async def _sender(self) -> None:
        while True:
            self._queued.clear()
            batch = self.queue.peek()
            if batch is None:
                await self._queued.wait()
                continue
            await self._deliver(batch)

    async def _deliver(self, batch: QueuedBatch) -> None:
        q = self.config.queue
        backoff = float(q.min_backoff)
        while True:
            status, retry_after, detail = await self._post(batch.payload)
            failure = classify(status, retry_on_429=q.retry_on_http_429)
            if failure is None:
                self.queue.ack(batch)
                self._m.sent.labels(self.name).inc(batch.samples)
                self._m.sent_bytes.labels(self.name).inc(len(batch.payload))
                if batch.newest_ms / 1000 > self._highest_sent:
                    self._highest_sent = batch.newest_ms / 1000
                    self._m.highest_sent.labels(self.name).set(self._highest_sent)
                self.last_error = ""
                return
            if failure not in _RETRYABLE:
                self.queue.ack(batch)
                self._m.failed.labels(self.name).inc(batch.samples)
                self.last_error = f"HTTP {status}: {detail}"
                log.error(
                    "remote write %s refused %d samples for good (HTTP %s: %s); dropped",
                    self.name,
                    batch.samples,
                    status,
                    detail,
                )
                return
            self.last_error = f"HTTP {status}: {detail}" if status else detail
            self._m.retries.labels(self.name).inc()
            wait = backoff
            if retry_after is not None:
                wait = min(max(retry_after, backoff), _MAX_RETRY_AFTER_S)
            log.warning(
                "remote write %s failed (%s); retrying in %.3gs", self.name, self.last_error, wait
            )
            await self.clock.sleep(wait)
            backoff = min(backoff * 2, float(q.max_backoff))

    async def _post(self, payload: bytes) -> tuple[int | None, float | None, str]:
        client = self._client
        if client is None:
            raise RuntimeError("the remote writer is not started")
        timer = self._m.duration.labels(self.name).time()
        try:
            with timer:
                response = await client.post(self.config.url, content=payload)
        except httpx.HTTPError as exc:
            self._m.requests.labels(self.name, "error").inc()
            return None, None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        self._m.requests.labels(self.name, str(response.status_code)).inc()
        if 200 <= response.status_code < 300:
            return response.status_code, None, ""
        return response.status_code, _retry_after(response), " ".join(response.text.split())[:300]

    def status(self) -> dict[str, object]:
        depth = self.queue.depth()
        return {
            "name": self.name,
            "url": self.config.url,
            "pending_samples": self.pending,
            "queue_samples": depth.samples,
            "queue_requests": depth.batches,
            "queue_bytes": depth.bytes,
            "last_error": self.last_error,
        }


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
