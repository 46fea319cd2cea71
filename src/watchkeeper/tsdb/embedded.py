"""The embedded TSDB: an in-memory head in compact arrays, a write-ahead log, compressed
chunks in SQLite, rollups and retention; a :class:`~watchkeeper.tsdb.base.SeriesStore`.

Constructors::

    store = EmbeddedStore.open(config.storage, clock=clock, registry=registry)
    store = EmbeddedStore.memory(clock=clock)   # nothing on disk; same engine otherwise

``open`` takes the data directory's lock (``<path>/tsdb/LOCK``; a second process gets a
clear :class:`StorageError`), loads the series, reloads the head's recent samples from the
chunks, replays the write-ahead log and, unless ``background=False``, starts one
maintenance thread (WAL fsync, head flushes, compaction, retention). With
``background=False`` call :meth:`maintain` (or :meth:`flush_head`, :meth:`compact`)
yourself, as tests do with a fake clock.

Durability: ``append()`` writes the accepted samples to the write-ahead log before it
returns, so a ``kill -9`` loses none of them; a power loss loses at most
``storage.wal_fsync_interval`` (1s by default).

Threads: ``append`` (event loop thread) and queries (worker threads) may run at once; one
lock guards the head and is held only for in-memory work. ``select`` returns series in
creation order, each with samples sorted by time and staleness markers included.

Beyond the protocol: :meth:`select_rollups` (5m/1h min/max/sum/count buckets, the optional
``RollupSource``), :meth:`import_series` (atomic backfill, no out-of-order window),
:meth:`series_limit_problem` (check a batch against the series limits before appending).
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import StorageError
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.backend import ChunkBackend, MemoryBackend
from watchkeeper.tsdb.backfill import ImportResult, import_series
from watchkeeper.tsdb.base import (
    AppendResult,
    FlatSeries,
    RollupData,
    Sample,
    SeriesData,
    SeriesListener,
    StoreStats,
)
from watchkeeper.tsdb.codec import F64, I64
from watchkeeper.tsdb.config import StorageConfig
from watchkeeper.tsdb.head import MAX_T, AppendBatch, Head, Limits, Series
from watchkeeper.tsdb.locking import DataDirLock
from watchkeeper.tsdb.maintenance import (
    META_COMPACTED_UNTIL,
    META_WAL_SEGMENT,
    Core,
    Settings,
    compact,
    flush_head,
    merge_parts,
    read_chunks,
    reload_head,
)
from watchkeeper.tsdb.metrics import StoreMetrics
from watchkeeper.tsdb.sqlite_backend import SQLiteBackend
from watchkeeper.tsdb.wal import (
    SamplesRecord,
    SeriesRecord,
    WriteAheadLog,
    encode_samples,
    encode_series,
    labels_from_json,
)

log = logging.getLogger(__name__)
_LOG_EVERY_S = 60.0


def _ms(seconds: float) -> int:
    return round(float(seconds) * 1000)


class EmbeddedStore:
    """See the module docstring. Build with :meth:`open` or :meth:`memory`."""

    def __init__(
        self,
        config: StorageConfig,
        *,
        clock: Clock,
        backend: ChunkBackend,
        wal: WriteAheadLog | None,
        registry: CollectorRegistry | None,
        lock: DataDirLock | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._dir_lock = lock
        head = Head(
            Limits(config.max_series, config.max_series_per_target, _ms(config.out_of_order_window))
        )
        self._head = head
        self._appended_total = 0
        self._listeners: list[SeriesListener] = []
        self._closed = False
        self._last_logged: dict[tuple[str, str | None], float] = {}
        self.metrics = StoreMetrics(
            registry,
            head_series=lambda: len(head.live),
            head_samples=lambda: head.samples,
            series_total=lambda: len(head.series),
            bytes_on_disk=lambda: self._bytes_on_disk(),
        )
        settings = Settings(
            retention_ms=_ms(config.retention),
            rollup_retention_ms={
                rollups.FIVE_MINUTES_MS: _ms(config.rollup_5m_retention),
                rollups.ONE_HOUR_MS: _ms(config.rollup_1h_retention),
            },
            out_of_order_window_ms=_ms(config.out_of_order_window),
            head_window_ms=_ms(config.head_window),
        )
        self._core = Core(threading.RLock(), head, backend, wal, clock, settings, self.metrics)
        if wal is not None:
            wal.on_fsync = self.metrics.wal_fsync.observe
        self._due: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ----- construction

    @classmethod
    def open(
        cls,
        config: StorageConfig,
        *,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        background: bool = True,
    ) -> EmbeddedStore:
        """Open (or create) the store under ``config.path``."""
        root = Path(config.path) / "tsdb"
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the data directory {root}: {exc.strerror or exc}; "
                "check storage.path and its permissions"
            ) from exc
        dir_lock = DataDirLock.acquire(root / "LOCK")
        backend: SQLiteBackend | None = None
        wal: WriteAheadLog | None = None
        try:
            backend = SQLiteBackend(root / "chunks.sqlite")
            wal = WriteAheadLog(root / "wal")
            store = cls(
                config, clock=clock, backend=backend, wal=wal, registry=registry, lock=dir_lock
            )
            store._load()
        except BaseException:
            if wal is not None:
                wal.close()
            if backend is not None:
                backend.close()
            dir_lock.release()
            raise
        if background:
            store.start()
        return store

    @classmethod
    def memory(
        cls,
        config: StorageConfig | None = None,
        *,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        background: bool = False,
    ) -> EmbeddedStore:
        """A store that keeps everything in memory (chunks compressed as on disk)."""
        store = cls(
            config or StorageConfig.model_validate({}),
            clock=clock,
            backend=MemoryBackend(),
            wal=None,
            registry=registry,
        )
        if background:
            store.start()
        return store

    def _load(self) -> None:
        core = self._core
        head = self._head
        for row in core.backend.load_series():
            s = head.add_series(row.id, labels_from_json(row.labels_json))
            if row.max_t is not None and row.min_t is not None:
                s.last_t = row.max_t
                s.min_t = row.min_t
                s.complete_from = row.max_t + 1
        compacted = core.backend.get_meta(META_COMPACTED_UNTIL)
        if compacted is not None:
            core.compacted_until = int(compacted)
        reload_head(core)
        wal = core.wal
        if wal is None:
            return
        flushed = int(core.backend.get_meta(META_WAL_SEGMENT) or 0)
        replayed = 0
        for record in wal.replay(flushed):
            if isinstance(record, SeriesRecord):
                for sid, labels in record.series:
                    if sid not in head.series:
                        head.pending_series.append(head.add_series(sid, labels))
            elif isinstance(record, SamplesRecord):
                replayed += head.replay(
                    record.ids.tolist(), record.timestamps.tolist(), record.values.tolist()
                )
        if replayed:
            log.info("replayed %d samples from the write-ahead log", replayed)

    # ----- SeriesStore

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        result = AppendResult()
        core = self._core
        with core.lock:
            if self._closed:
                raise StorageError("the store is closed")
            batch = self._head.append(samples, source, result, bool(self._listeners))
            wal = core.wal
            if wal is not None and (batch.ids or batch.new_series):
                data = b""
                if batch.new_series:
                    data = encode_series([(s.id, s.labels) for s in batch.new_series])
                if batch.ids:
                    data += encode_samples(batch.ids, batch.timestamps, batch.values)
                wal.write(data)
            self._appended_total += result.appended
        m = self.metrics
        if result.appended:
            m.samples_appended.inc(result.appended)
        if result.out_of_order:
            m.out_of_order.inc(result.out_of_order)
        if result.duplicates:
            m.duplicates.inc(result.duplicates)
        if batch.new_series:
            m.series_created.inc(len(batch.new_series))
        if batch.rejected_global or batch.rejected_target:
            self._report_rejections(batch, source, result)
        if batch.names and self._listeners:
            names = frozenset(batch.names)
            for listener in list(self._listeners):
                try:
                    listener(names)
                except Exception:
                    m.listener_errors.inc()
                    log.exception("a series listener failed")
        return result

    def _report_rejections(
        self, batch: AppendBatch, source: str | None, result: AppendResult
    ) -> None:
        for kind, rejected in (
            ("target", batch.rejected_target),
            ("global", batch.rejected_global),
        ):
            if not rejected:
                continue
            self.metrics.rejected_series.labels(kind).inc(len(rejected))
            message = self._head.limit_message(kind, source, rejected)
            result.errors.append(message)
            key = (kind, source)
            now = self._clock.monotonic()
            last = self._last_logged.get(key)
            if last is None or now - last >= _LOG_EVERY_S:
                self._last_logged[key] = now
                log.warning("%s", message)

    def _resolve(self, matchers: Sequence[Matcher], start: int, end: int) -> list[Series]:
        """Matching series whose known time span overlaps the range; call under the lock."""
        series = self._head.series
        ids = self._head.index.resolve(matchers) if matchers else self._head.index.all_ids()
        out = []
        for sid in ids.tolist():
            s = series[sid]
            if s.last_t >= start and s.min_t <= end:
                out.append(s)
        return out

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        core = self._core
        picked: list[tuple[Series, array[int], array[float]]] = []
        disk_ids: list[int] = []
        with core.lock:
            for s in self._resolve(matchers, start_ms, end_ms):
                times, values = s.head_slice(start_ms, end_ms)
                picked.append((s, times, values))
                if start_ms < s.complete_from:
                    disk_ids.append(s.id)
        disk = read_chunks(core.backend, disk_ids, start_ms, end_ms) if disk_ids else {}
        out: list[SeriesData] = []
        for s, times, values in picked:
            parts = disk.get(s.id)
            if not times and parts is None:
                continue
            ts = np.frombuffer(times, dtype=np.int64)
            vals = np.frombuffer(values, dtype=np.float64)
            if parts is not None:
                ts, vals = merge_parts([*parts[0], ts], [*parts[1], vals])
            if ts.size:
                out.append(SeriesData(s.labels, ts, vals))
        return out

    def select_flat(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> FlatSeries | None:
        """:meth:`select` into contiguous arrays (the engine's instant queries over many
        series); ``None`` when a series' range reaches back into persisted chunks."""
        labels: list[Labels] = []
        offsets = array("q", [0])
        times: array[int] = array("q")
        values: array[float] = array("d")
        with self._core.lock:
            for s in self._resolve(matchers, start_ms, end_ms):
                if start_ms < s.complete_from:
                    return None
                ts, vals = s.head_slice(start_ms, end_ms)
                if not ts:
                    continue
                labels.append(s.labels)
                times.extend(ts)
                values.extend(vals)
                offsets.append(len(times))
        return FlatSeries(
            labels,
            np.frombuffer(offsets, dtype=np.int64),
            np.frombuffer(times, dtype=np.int64),
            np.frombuffer(values, dtype=np.float64),
        )

    def series(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Labels]:
        with self._core.lock:
            return sorted(s.labels for s in self._resolve(matchers, start_ms, end_ms))

    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        with self._core.lock:
            if not matchers and start_ms is None and end_ms is None:
                return self._head.index.label_names()
            found = self._resolve(matchers, _lo(start_ms), _hi(end_ms))
            return sorted({name for s in found for name in s.labels})

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        with self._core.lock:
            if not matchers and start_ms is None and end_ms is None:
                return self._head.index.label_values(name)
            found = self._resolve(matchers, _lo(start_ms), _hi(end_ms))
            return sorted({v for s in found if (v := s.labels.get(name)) is not None})

    def subscribe(self, listener: SeriesListener) -> None:
        self._listeners.append(listener)

    def series_limit_problem(self, series: Mapping[str | None, Iterable[Labels]]) -> str | None:
        """Why appending samples of these series (grouped by ``source`` as ``append`` takes
        it) would pass a cardinality limit, or ``None``: lets push ingestion refuse a whole
        batch before storing any of it. ``append`` enforces the limits regardless."""
        with self._core.lock:
            return self._head.series_limit_problem(series)

    def stats(self) -> StoreStats:
        with self._core.lock:
            return StoreStats(
                series=len(self._head.series),
                samples_in_head=self._head.samples,
                samples_appended_total=self._appended_total,
                bytes_on_disk=self._bytes_on_disk(),
            )

    def flush(self) -> None:
        """Fsync the write-ahead log: everything appended so far survives a power loss."""
        if self._core.wal is not None:
            self._core.wal.sync()

    # ----- rollups (RollupSource)

    def select_rollups(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int, resolution_ms: int
    ) -> list[RollupData]:
        if resolution_ms not in rollups.RESOLUTIONS_MS:
            raise ValueError(
                f"rollup resolution {resolution_ms}ms is not kept; use one of "
                f"{', '.join(str(r) for r in rollups.RESOLUTIONS_MS)}"
            )
        core = self._core
        first = start_ms // resolution_ms * resolution_ms
        with core.lock:
            found = self._resolve(matchers, first, end_ms)
            compacted = core.compacted_until
        ids = [s.id for s in found]
        stored: dict[int, list[rollups.Buckets]] = {}
        if first < compacted:
            span = rollups.ROW_SPAN_MS[resolution_ms]
            row_lo = first // span * span
            row_hi = min(end_ms, compacted - 1)
            for row in core.backend.read_rollups(ids, resolution_ms, row_lo, row_hi):
                stored.setdefault(row.series_id, []).append(rollups.decode(row.data))
        raw: dict[int, rollups.Buckets] = {}
        if end_ms >= compacted:
            raw_start = max(first, compacted)
            ids_by_labels = {s.labels: s.id for s in found}
            for data in self.select(matchers, raw_start, end_ms):
                sid = ids_by_labels.get(data.labels)
                if sid is not None:
                    raw[sid] = rollups.compute(data.timestamps, data.values, resolution_ms)
        out = []
        for s in found:
            parts = [
                rollups.clip(b, first, min(end_ms, compacted - 1)) for b in stored.get(s.id, [])
            ]
            if s.id in raw:
                parts.append(raw[s.id])
            b = rollups.concat(parts)
            if b[0].size:
                out.append(RollupData(s.labels, b[0], b[1], b[2], b[3], b[4]))
        return out

    # ----- backfill

    def import_series(self, data: Mapping[Labels, tuple[I64, F64]]) -> ImportResult:
        """Backfill whole series (any time range, no out-of-order window, no series limit):
        written as chunks in one transaction, so either everything lands or nothing does;
        then finished windows are compacted. Duplicate timestamps keep the first value."""
        result = import_series(self._core, data)
        self.compact()
        return result

    # ----- maintenance

    def flush_head(self) -> int:
        """Write the head's new samples as chunks now; returns how many samples."""
        return flush_head(self._core)

    def compact(self) -> int:
        """Compact finished windows, compute rollups and apply retention now."""
        return compact(self._core)

    def maintain(self) -> None:
        """Run whatever is due (fsync, flush, compaction) by the injected clock."""
        now = self._clock.monotonic()
        cfg = self.config
        for task, every, run in (
            ("fsync", float(cfg.wal_fsync_interval), self.flush),
            ("flush", float(cfg.flush_interval), self.flush_head),
            ("compact", float(cfg.compaction_interval), self.compact),
        ):
            due = self._due.get(task)
            if due is None:
                self._due[task] = now + every
            elif now >= due:
                self._due[task] = now + every
                run()

    def start(self) -> None:
        """Start the maintenance thread (``open`` does unless ``background=False``)."""
        if self._thread is not None:
            return
        tick = min(1.0, float(self.config.wal_fsync_interval))

        def loop() -> None:
            while not self._stop.wait(tick):
                try:
                    self.maintain()
                except Exception:
                    log.exception("TSDB maintenance failed; retrying on the next tick")

        self._thread = threading.Thread(target=loop, name="tsdb-maintenance", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop maintenance, write the head as chunks and release the data directory."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        core = self._core
        try:
            try:
                flush_head(core)
            except StorageError:
                log.exception("could not flush the head on close; the write-ahead log keeps it")
            with core.lock:
                self._closed = True
            if core.wal is not None:
                core.wal.close()
            core.backend.close()
        finally:
            if self._dir_lock is not None:
                self._dir_lock.release()

    def _bytes_on_disk(self) -> int:
        core = self._core
        wal = core.wal.size() if core.wal is not None else 0
        return core.backend.bytes_on_disk() + wal


def _lo(value: int | None) -> int:
    return -(2**63) if value is None else value


def _hi(value: int | None) -> int:
    return MAX_T if value is None else value
