"""Chunks and rollups in one SQLite file (``<data dir>/tsdb/chunks.sqlite``).

The file is the TSDB's own format (like Prometheus's block directories), versioned by the
``schema`` key of its ``meta`` table; it is not part of the state database and its
migrations. WAL journal mode lets queries read while the maintenance thread writes; every
write batch is one transaction with ``synchronous=FULL``, so once it returns the
write-ahead log segments it covers can go.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from watchkeeper.core.errors import StorageError
from watchkeeper.tsdb.backend import ChunkRef, RollupRow, StoredSeries, WriteBatch

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, labels TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL,
    level INTEGER NOT NULL,
    min_t INTEGER NOT NULL,
    max_t INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks (series_id, max_t);
CREATE INDEX IF NOT EXISTS chunks_by_level ON chunks (level, max_t);
CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    row_start INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (series_id, resolution, row_start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_BATCH = 900


class SQLiteBackend:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.Lock()
        conn = self._conn()
        try:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise StorageError(
                    f"{path}: TSDB schema version {row[0]} is not supported by this "
                    f"version of Watchkeeper (it reads version {SCHEMA_VERSION}); "
                    "upgrade Watchkeeper or point storage.path at a new directory"
                )
            conn.commit()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{path}: cannot open the TSDB file: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"{self.path}: cannot open the TSDB file: {exc}") from exc
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def load_series(self) -> list[StoredSeries]:
        rows = self._conn().execute(
            "SELECT s.id, s.labels, MIN(c.min_t), MAX(c.max_t) FROM series s "
            "LEFT JOIN chunks c ON c.series_id = s.id GROUP BY s.id ORDER BY s.id"
        )
        return [StoredSeries(r[0], r[1], r[2], r[3]) for r in rows]

    def write(self, batch: WriteBatch) -> None:
        if not batch:
            return
        with self._write_lock:
            conn = self._conn()
            try:
                with conn:
                    if batch.series:
                        conn.executemany("INSERT OR IGNORE INTO series VALUES (?, ?)", batch.series)
                    if batch.delete_chunks:
                        conn.executemany(
                            "DELETE FROM chunks WHERE id = ?", [(c,) for c in batch.delete_chunks]
                        )
                    if batch.chunks:
                        conn.executemany(
                            "INSERT INTO chunks (series_id, level, min_t, max_t, count, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            [
                                (c.series_id, c.level, c.min_t, c.max_t, c.count, c.data)
                                for c in batch.chunks
                            ],
                        )
                    if batch.rollups:
                        conn.executemany(
                            "INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?)",
                            [
                                (r.series_id, r.resolution_ms, r.row_start, r.data)
                                for r in batch.rollups
                            ],
                        )
                    for sid in batch.delete_series:
                        conn.execute("DELETE FROM chunks WHERE series_id = ?", (sid,))
                        conn.execute("DELETE FROM rollups WHERE series_id = ?", (sid,))
                        conn.execute("DELETE FROM series WHERE id = ?", (sid,))
                    if batch.meta:
                        conn.executemany(
                            "INSERT OR REPLACE INTO meta VALUES (?, ?)", list(batch.meta.items())
                        )
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"{self.path}: cannot write chunks: {exc}") from exc

    def read(self, ids: Sequence[int], start: int, end: int) -> Iterator[tuple[int, bytes]]:
        conn = self._conn()
        for i in range(0, len(ids), _BATCH):
            part = json.dumps([int(x) for x in ids[i : i + _BATCH]])
            yield from conn.execute(
                "SELECT series_id, data FROM chunks WHERE series_id IN "
                "(SELECT value FROM json_each(?)) AND max_t >= ? AND min_t <= ? "
                "ORDER BY series_id, id",
                (part, start, end),
            )

    def chunk_refs(self, level: int, min_t_before: int) -> list[ChunkRef]:
        rows = self._conn().execute(
            "SELECT id, series_id, level, min_t, max_t FROM chunks "
            "WHERE level = ? AND min_t < ? ORDER BY series_id, id",
            (level, min_t_before),
        )
        return [ChunkRef(*r) for r in rows]

    def series_chunks(self, series_id: int, start: int, end: int) -> list[tuple[ChunkRef, bytes]]:
        rows = self._conn().execute(
            "SELECT id, series_id, level, min_t, max_t, data FROM chunks "
            "WHERE series_id = ? AND max_t >= ? AND min_t <= ? ORDER BY id",
            (series_id, start, end),
        )
        return [(ChunkRef(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows]

    def read_rollups(
        self, ids: Sequence[int], resolution_ms: int, start: int, end: int
    ) -> Iterator[RollupRow]:
        conn = self._conn()
        for i in range(0, len(ids), _BATCH):
            part = json.dumps([int(x) for x in ids[i : i + _BATCH]])
            for sid, row_start, data in conn.execute(
                "SELECT series_id, row_start, data FROM rollups WHERE series_id IN "
                "(SELECT value FROM json_each(?)) AND resolution = ? "
                "AND row_start BETWEEN ? AND ? ORDER BY series_id, row_start",
                (part, resolution_ms, start, end),
            ):
                yield RollupRow(sid, resolution_ms, row_start, data)

    def expire(self, raw_before: int, rollups_before: dict[int, int]) -> None:
        with self._write_lock:
            conn = self._conn()
            try:
                with conn:
                    conn.execute(
                        "DELETE FROM chunks WHERE level IN (0, 1) AND max_t < ?", (raw_before,)
                    )
                    for res, cut in rollups_before.items():
                        conn.execute(
                            "DELETE FROM rollups WHERE resolution = ? AND row_start < ?",
                            (res, cut),
                        )
                conn.execute("PRAGMA incremental_vacuum")
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"{self.path}: cannot apply retention: {exc}") from exc

    def orphans(self) -> list[int]:
        rows = self._conn().execute(
            "SELECT id FROM series s WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.series_id = s.id) AND NOT EXISTS "
            "(SELECT 1 FROM rollups r WHERE r.series_id = s.id)"
        )
        return [r[0] for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def bytes_on_disk(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.DatabaseError):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
