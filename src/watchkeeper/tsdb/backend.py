"""Where encoded chunks and rollups live: the :class:`ChunkBackend` contract, with an
in-memory implementation (``EmbeddedStore.memory``) beside the SQLite one.

Every write is one :class:`WriteBatch` applied atomically. Reads return chunks of a series
in write order (chunk id), so that when two chunks hold the same timestamp the earlier
write wins, as it does in the head.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChunkRow:
    series_id: int
    level: int  # 0: flushed from the head; 1: merged for one compaction window
    min_t: int
    max_t: int
    count: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ChunkRef:
    id: int
    series_id: int
    level: int
    min_t: int
    max_t: int


@dataclass(frozen=True, slots=True)
class RollupRow:
    series_id: int
    resolution_ms: int
    row_start: int
    data: bytes


@dataclass(slots=True)
class WriteBatch:
    series: list[tuple[int, str]] = field(default_factory=list)  # id, labels as JSON
    chunks: list[ChunkRow] = field(default_factory=list)
    delete_chunks: list[int] = field(default_factory=list)
    rollups: list[RollupRow] = field(default_factory=list)  # insert or replace
    delete_series: list[int] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.series
            or self.chunks
            or self.delete_chunks
            or self.rollups
            or self.delete_series
            or self.meta
        )


@dataclass(frozen=True, slots=True)
class StoredSeries:
    id: int
    labels_json: str
    min_t: int | None  # None when the series has no chunks
    max_t: int | None


class ChunkBackend(Protocol):
    def load_series(self) -> list[StoredSeries]: ...

    def write(self, batch: WriteBatch) -> None: ...

    def read(self, ids: Sequence[int], start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(series id, chunk) of chunks overlapping ``[start, end]``, by series then id."""
        ...

    def chunk_refs(self, level: int, min_t_before: int) -> list[ChunkRef]:
        """Chunks of one level that start before a time, by series then id."""
        ...

    def series_chunks(
        self, series_id: int, start: int, end: int
    ) -> list[tuple[ChunkRef, bytes]]: ...

    def read_rollups(
        self, ids: Sequence[int], resolution_ms: int, start: int, end: int
    ) -> Iterator[RollupRow]:
        """Rollup rows with ``row_start`` in ``[start, end]``, by series then row start."""
        ...

    def expire(self, raw_before: int, rollups_before: dict[int, int]) -> None:
        """Delete chunks ending before ``raw_before`` and rollup rows starting before the
        cut of their resolution."""
        ...

    def orphans(self) -> list[int]:
        """Series with neither chunks nor rollups."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def bytes_on_disk(self) -> int: ...

    def close(self) -> None: ...


class MemoryBackend:
    """Chunks kept in memory, compressed exactly as on disk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[int, str] = {}
        self._chunks: dict[int, tuple[ChunkRef, bytes]] = {}
        self._by_series: dict[int, list[int]] = {}
        self._rollups: dict[tuple[int, int, int], bytes] = {}
        self._meta: dict[str, str] = {}
        self._next = 1

    def load_series(self) -> list[StoredSeries]:
        with self._lock:
            out = []
            for sid, text in sorted(self._series.items()):
                refs = [self._chunks[c][0] for c in self._by_series.get(sid, ())]
                lo = min((r.min_t for r in refs), default=None)
                hi = max((r.max_t for r in refs), default=None)
                out.append(StoredSeries(sid, text, lo, hi))
            return out

    def write(self, batch: WriteBatch) -> None:
        with self._lock:
            for sid, text in batch.series:
                self._series[sid] = text
            for cid in batch.delete_chunks:
                found = self._chunks.pop(cid, None)
                if found is not None:
                    self._by_series[found[0].series_id].remove(cid)
            for row in batch.chunks:
                cid = self._next
                self._next += 1
                ref = ChunkRef(cid, row.series_id, row.level, row.min_t, row.max_t)
                self._chunks[cid] = (ref, row.data)
                self._by_series.setdefault(row.series_id, []).append(cid)
            for r in batch.rollups:
                self._rollups[(r.series_id, r.resolution_ms, r.row_start)] = r.data
            for sid in batch.delete_series:
                self._series.pop(sid, None)
                for cid in self._by_series.pop(sid, []):
                    self._chunks.pop(cid, None)
                for key in [k for k in self._rollups if k[0] == sid]:
                    del self._rollups[key]
            self._meta.update(batch.meta)

    def read(self, ids: Sequence[int], start: int, end: int) -> Iterator[tuple[int, bytes]]:
        with self._lock:
            out = [
                (sid, data)
                for sid in ids
                for ref, data in (self._chunks[c] for c in self._by_series.get(sid, ()))
                if ref.max_t >= start and ref.min_t <= end
            ]
        return iter(out)

    def chunk_refs(self, level: int, min_t_before: int) -> list[ChunkRef]:
        with self._lock:
            refs = [
                ref
                for ref, _ in self._chunks.values()
                if ref.level == level and ref.min_t < min_t_before
            ]
        return sorted(refs, key=lambda r: (r.series_id, r.id))

    def series_chunks(self, series_id: int, start: int, end: int) -> list[tuple[ChunkRef, bytes]]:
        with self._lock:
            return [
                self._chunks[c]
                for c in self._by_series.get(series_id, ())
                if self._chunks[c][0].max_t >= start and self._chunks[c][0].min_t <= end
            ]

    def read_rollups(
        self, ids: Sequence[int], resolution_ms: int, start: int, end: int
    ) -> Iterator[RollupRow]:
        wanted = set(ids)
        with self._lock:
            rows = [
                RollupRow(sid, res, row_start, data)
                for (sid, res, row_start), data in self._rollups.items()
                if sid in wanted and res == resolution_ms and start <= row_start <= end
            ]
        rows.sort(key=lambda r: (r.series_id, r.row_start))
        return iter(rows)

    def expire(self, raw_before: int, rollups_before: dict[int, int]) -> None:
        with self._lock:
            for cid, (ref, _) in list(self._chunks.items()):
                if ref.max_t < raw_before:
                    del self._chunks[cid]
                    self._by_series[ref.series_id].remove(cid)
            for key in list(self._rollups):
                cut = rollups_before.get(key[1])
                if cut is not None and key[2] < cut:
                    del self._rollups[key]

    def orphans(self) -> list[int]:
        with self._lock:
            with_rollups = {k[0] for k in self._rollups}
            return [
                sid
                for sid in self._series
                if not self._by_series.get(sid) and sid not in with_rollups
            ]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta.get(key)

    def bytes_on_disk(self) -> int:
        return 0

    def close(self) -> None:
        return None
