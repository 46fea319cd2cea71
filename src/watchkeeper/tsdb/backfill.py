"""Backfill: whole series written straight to chunks, bypassing the head and the
write-ahead log (``watchkeeper tsdb import openmetrics`` and :meth:`EmbeddedStore.import_series`).

Atomic: one transaction holds every chunk and every new series row, so a failure stores
nothing. Imported data may be older than anything in the store (no out-of-order window) and
does not count against the active-series limits (it is not active).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from watchkeeper.core.clock import now_ms
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Labels
from watchkeeper.tsdb.backend import ChunkRow, WriteBatch
from watchkeeper.tsdb.codec import F64, I64, encode_chunk
from watchkeeper.tsdb.head import Series, invalid_labels
from watchkeeper.tsdb.maintenance import WINDOW_MS, Core
from watchkeeper.tsdb.wal import labels_to_json


@dataclass(frozen=True, slots=True)
class ImportResult:
    series: int
    new_series: int
    samples: int
    duplicates: int
    expired: int = 0  # older than the retention: dropped by the compaction that follows


def import_series(core: Core, data: Mapping[Labels, tuple[I64, F64]]) -> ImportResult:
    """Write whole series as level-0 chunks in one transaction (all or nothing) and
    register their ids; the caller compacts afterwards. Duplicate timestamps keep the
    first value."""
    head = core.head
    for labels in data:
        problem = invalid_labels(labels)
        if problem:
            raise UserInputError(problem)
    prepared: list[tuple[Labels, I64, F64]] = []
    duplicates = 0
    for labels, (ts, vals) in data.items():
        if ts.size == 0:
            continue
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = np.ones(ts.size, dtype=bool)
        keep[1:] = ts[1:] != ts[:-1]
        duplicates += int(ts.size - keep.sum())
        prepared.append((labels, ts[keep], vals[keep]))
    batch = WriteBatch()
    created: list[int] = []
    with core.lock:
        targets: list[tuple[Series, I64, F64]] = []
        for labels, ts, vals in prepared:
            s = head.by_labels.get(labels.items_tuple)
            if s is None:
                s = head.add_series(head.next_id, labels)
                created.append(s.id)
                batch.series.append((s.id, labels_to_json(labels)))
            targets.append((s, ts, vals))
    samples = 0
    expired = 0
    cutoff = now_ms(core.clock) - core.settings.retention_ms
    for s, ts, vals in targets:
        windows = ts // WINDOW_MS
        edges = [0, *(np.flatnonzero(np.diff(windows)) + 1).tolist(), int(ts.size)]
        for a, b in itertools.pairwise(edges):
            wts, wvals = ts[a:b], vals[a:b]
            batch.chunks.append(
                ChunkRow(
                    s.id,
                    0,
                    int(wts[0]),
                    int(wts[-1]),
                    int(wts.size),
                    encode_chunk(wts, wvals, fast=True),
                )
            )
        samples += int(ts.size)
        if int(ts[0]) < cutoff:
            expired += int(np.searchsorted(ts, cutoff, side="left"))
    try:
        core.backend.write(batch)
    except BaseException:
        with core.lock:
            head.remove(created)
        raise
    with core.lock:
        for s, ts, _ in targets:
            lo, hi = int(ts[0]), int(ts[-1])
            s.min_t = min(s.min_t, lo)
            if hi > s.last_t:
                s.last_t = hi
            # Every sample at or after complete_from must be in the head.
            s.complete_from = max(s.complete_from, hi + 1)
    return ImportResult(len(targets), len(created), samples, duplicates, expired)
