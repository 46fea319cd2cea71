"""Moving data out of the head and keeping the chunk store tidy: head flushes, compaction of
finished 2-hour windows (with rollups), retention, and reading chunks back.

Everything here runs on the maintenance thread (or in tests, when called directly); the
store's lock is held only to take snapshots and to trim, never while encoding or writing.
"""

from __future__ import annotations

import itertools
import logging
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.backend import ChunkBackend, ChunkRef, ChunkRow, RollupRow, WriteBatch
from watchkeeper.tsdb.codec import F64, I64, decode_chunk, decode_many, encode_chunk, encode_raw
from watchkeeper.tsdb.head import MAX_T, Head, Series
from watchkeeper.tsdb.metrics import StoreMetrics
from watchkeeper.tsdb.wal import WriteAheadLog, labels_to_json

log = logging.getLogger(__name__)

WINDOW_MS = 2 * 3600 * 1000
META_WAL_SEGMENT = "wal_flushed_segment"
META_COMPACTED_UNTIL = "compacted_until"


@dataclass(frozen=True, slots=True)
class Settings:
    retention_ms: int
    rollup_retention_ms: dict[int, int]
    out_of_order_window_ms: int
    head_window_ms: int


@dataclass(slots=True)
class Core:
    """The parts of a store that maintenance works on."""

    lock: threading.RLock
    head: Head
    backend: ChunkBackend
    wal: WriteAheadLog | None
    clock: Clock
    settings: Settings
    metrics: StoreMetrics
    maintenance_lock: threading.Lock = field(default_factory=threading.Lock)
    compacted_until: int = -(2**63)


def merge_parts(ts_parts: Sequence[I64], val_parts: Sequence[F64]) -> tuple[I64, F64]:
    """Concatenate pieces in write order; sort by time, keeping the first write of a
    timestamp."""
    if len(ts_parts) == 1:
        ts, vals = ts_parts[0], val_parts[0]
    else:
        ts = np.concatenate(ts_parts)
        vals = np.concatenate(val_parts)
    if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        order = np.argsort(ts, kind="stable")
        ts = ts[order]
        vals = vals[order]
        keep = np.empty(ts.size, dtype=bool)
        keep[0] = True
        np.not_equal(ts[1:], ts[:-1], out=keep[1:])
        ts = ts[keep]
        vals = vals[keep]
    return ts, vals


_DECODE_BATCH = 2000  # chunks decoded together (about a million samples at most)


def read_chunks(
    backend: ChunkBackend, ids: Sequence[int], start: int, end: int
) -> dict[int, tuple[list[I64], list[F64]]]:
    """Decoded chunk samples in ``[start, end]`` per series (its chunks concatenated in
    write order; :func:`merge_parts` sorts and de-duplicates them)."""
    out: dict[int, tuple[list[I64], list[F64]]] = {}
    pending: list[tuple[int, bytes]] = []
    for row in backend.read(ids, start, end):
        if len(pending) >= _DECODE_BATCH and row[0] != pending[-1][0]:
            _decode_rows(pending, start, end, out)
            pending = []
        pending.append(row)
    if pending:
        _decode_rows(pending, start, end, out)
    return out


def _decode_rows(
    rows: list[tuple[int, bytes]], start: int, end: int, out: dict[int, tuple[list[I64], list[F64]]]
) -> None:
    ts, vals, offsets = decode_many([data for _, data in rows])
    keep = (ts >= start) & (ts <= end)
    i = 0
    while i < len(rows):
        sid = rows[i][0]
        j = i + 1
        while j < len(rows) and rows[j][0] == sid:
            j += 1
        a, b = int(offsets[i]), int(offsets[j])
        seg_ts, seg_vals, seg_keep = ts[a:b], vals[a:b], keep[a:b]
        if not seg_keep.all():
            seg_ts, seg_vals = seg_ts[seg_keep], seg_vals[seg_keep]
        if seg_ts.size:
            parts = out.get(sid)
            if parts is None:
                out[sid] = ([seg_ts], [seg_vals])
            else:
                parts[0].append(seg_ts)
                parts[1].append(seg_vals)
        i = j


# ----- head flush


def flush_head(core: Core) -> int:
    """Write the head's unpersisted samples as level-0 chunks; returns how many samples."""
    with core.maintenance_lock:
        return _flush(core)


def _flush(core: Core) -> int:
    head = core.head
    with core.lock:
        segment = core.wal.rotate() if core.wal is not None else 0
        new_series = head.pending_series
        head.pending_series = []
        snapshot: list[tuple[Series, int, int, int, int, bytes]] = []
        for s in head.live.values():
            times, values = s.ts, s.vals
            if times is None or values is None:
                continue
            p = s.persisted
            n = len(times)
            if p >= n:
                continue
            raw = times[p:].tobytes() + values[p:].tobytes()
            snapshot.append((s, p, n - p, times[p], times[-1], raw))
            s.persisted = n
    batch = WriteBatch(series=[(s.id, labels_to_json(s.labels)) for s in new_series])
    samples = 0
    chunks = batch.chunks
    for s, _, count, lo, hi, raw in snapshot:
        chunks.append(ChunkRow(s.id, 0, lo, hi, count, encode_raw(raw, count)))
        samples += count
    if core.wal is not None:
        batch.meta[META_WAL_SEGMENT] = str(segment)
    try:
        core.backend.write(batch)
    except Exception:
        with core.lock:
            head.pending_series[:0] = new_series
            for s, p, *_ in snapshot:
                s.persisted = min(s.persisted, p)
        core.metrics.flush_failures.inc()
        raise
    if core.wal is not None:
        core.wal.remove_upto(segment)
    _trim(core)
    core.metrics.flushes.inc()
    return samples


def _trim(core: Core) -> None:
    """Drop persisted samples older than the head window; retire idle series."""
    keep_from = now_ms(core.clock) - core.settings.head_window_ms
    head = core.head
    with core.lock:
        for s in list(head.live.values()):
            times, values = s.ts, s.vals
            if times is None or values is None:
                continue
            cut = min(bisect_left(times, keep_from), s.persisted)
            if cut:
                del times[:cut]
                del values[:cut]
                s.persisted -= cut
                head.samples -= cut
                # Never lower: a backfill may have put samples on disk inside the head's
                # range, and the boundary already points past them.
                s.complete_from = max(s.complete_from, times[0] if times else s.last_t + 1)
            if not times and s.last_t < keep_from:
                head.deactivate(s)


# ----- compaction


def compact(core: Core) -> int:
    """Flush the head, merge the level-0 chunks of finished windows into one chunk per
    series and window and compute their rollups; then apply retention. Returns how many
    series were compacted."""
    with core.maintenance_lock:
        _flush(core)
        done = _compact(core)
        _retention(core)
        core.metrics.compactions.inc()
        return done


def _compact(core: Core) -> int:
    now = now_ms(core.clock)
    before = (now - core.settings.out_of_order_window_ms) // WINDOW_MS * WINDOW_MS
    refs = core.backend.chunk_refs(0, before)
    by_series: dict[int, list[ChunkRef]] = defaultdict(list)
    for ref in refs:
        by_series[ref.series_id].append(ref)
    batch = WriteBatch()
    done = 0
    for sid, level0 in by_series.items():
        _compact_series(core, sid, level0, before, batch)
        done += 1
        if len(batch.chunks) >= 2000:
            core.backend.write(batch)
            batch = WriteBatch()
    if before > core.compacted_until:
        batch.meta[META_COMPACTED_UNTIL] = str(before)
    core.backend.write(batch)
    core.compacted_until = max(core.compacted_until, before)
    return done


def _compact_series(
    core: Core, sid: int, level0: list[ChunkRef], before: int, batch: WriteBatch
) -> None:
    """Level-0 chunks that start before ``before`` are merged with the level-1 chunks of
    the windows they touch; what lies at or after ``before`` becomes one new level-0 chunk."""
    windows = {
        w
        for r in level0
        for w in range(r.min_t // WINDOW_MS, min(r.max_t, before - 1) // WINDOW_MS + 1)
    }
    lo = min(windows) * WINDOW_MS
    hi = max(r.max_t for r in level0)
    chosen = {r.id for r in level0}
    old: list[tuple[ChunkRef, bytes]] = []
    new: list[tuple[ChunkRef, bytes]] = []
    for ref, data in core.backend.series_chunks(sid, lo, hi):
        if ref.id in chosen:
            new.append((ref, data))
        elif ref.level == 1 and ref.min_t // WINDOW_MS in windows:
            old.append((ref, data))
    decoded = [decode_chunk(data) for _, data in old + new]
    ts, vals = merge_parts([d[0] for d in decoded], [d[1] for d in decoded])
    batch.delete_chunks.extend(ref.id for ref, _ in old + new)
    split = int(np.searchsorted(ts, before, side="left"))
    if split < ts.size:
        rest_ts, rest_vals = ts[split:], vals[split:]
        batch.chunks.append(
            ChunkRow(
                sid,
                0,
                int(rest_ts[0]),
                int(rest_ts[-1]),
                int(rest_ts.size),
                encode_chunk(rest_ts, rest_vals, fast=True),
            )
        )
        ts, vals = ts[:split], vals[:split]
    bucket = ts // WINDOW_MS
    bounds = np.flatnonzero(np.diff(bucket)) + 1
    edges = [0, *bounds.tolist(), int(ts.size)]
    for a, b in itertools.pairwise(edges):
        if a == b:
            continue
        wts, wvals = ts[a:b], vals[a:b]
        batch.chunks.append(
            ChunkRow(sid, 1, int(wts[0]), int(wts[-1]), int(wts.size), encode_chunk(wts, wvals))
        )
    rows: dict[tuple[int, int], rollups.Buckets] = {}
    for w in sorted(windows):
        w_lo = w * WINDOW_MS
        w_hi = w_lo + WINDOW_MS
        a = int(np.searchsorted(ts, w_lo, side="left"))
        b = int(np.searchsorted(ts, w_hi, side="left"))
        for res in rollups.RESOLUTIONS_MS:
            span = rollups.ROW_SPAN_MS[res]
            row_start = w_lo // span * span
            base = rows.get((res, row_start))
            if base is None and span == WINDOW_MS:
                base = rollups.empty_buckets()
            elif base is None:
                stored = list(core.backend.read_rollups([sid], res, row_start, row_start))
                base = rollups.decode(stored[0].data) if stored else rollups.empty_buckets()
            fresh = rollups.compute(ts[a:b], vals[a:b], res)
            rows[(res, row_start)] = rollups.merge(base, fresh, w_lo, w_hi)
    for (res, row_start), buckets in rows.items():
        batch.rollups.append(RollupRow(sid, res, row_start, rollups.encode(buckets)))


# ----- retention


def _retention(core: Core) -> None:
    now = now_ms(core.clock)
    raw_before = now - core.settings.retention_ms
    cuts = {
        res: now - keep - rollups.ROW_SPAN_MS[res]
        for res, keep in core.settings.rollup_retention_ms.items()
    }
    core.backend.expire(raw_before, cuts)
    orphans = core.backend.orphans()
    if not orphans:
        return
    with core.lock:
        gone = [
            sid for sid in orphans if (s := core.head.series.get(sid)) is not None and s.ts is None
        ]
        core.head.remove(gone)
    if gone:
        core.backend.write(WriteBatch(delete_series=gone))
        log.info("retention removed %d series with no data left", len(gone))


# ----- restart


def reload_head(core: Core) -> None:
    """Bring the last ``head_window`` of persisted samples back into the head."""
    keep_from = now_ms(core.clock) - core.settings.head_window_ms
    head = core.head
    recent = [s.id for s in head.series.values() if s.last_t >= keep_from]
    loaded = read_chunks(core.backend, recent, keep_from, MAX_T)
    for sid, (ts_parts, val_parts) in loaded.items():
        s = head.series[sid]
        ts, vals = merge_parts(ts_parts, val_parts)
        head.activate(s, None)
        if s.ts is None or s.vals is None:  # pragma: no cover - activated above
            continue
        s.ts.frombytes(ts.tobytes())
        s.vals.frombytes(vals.tobytes())
        s.persisted = len(s.ts)
        s.complete_from = keep_from
        head.samples += len(s.ts)
