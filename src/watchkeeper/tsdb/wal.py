"""The write-ahead log: every accepted append, written before ``append()`` returns.

The log is a directory of numbered segment files. Each append is one ``os.write`` of
framed records (``<length, crc32>`` then the payload), so once ``append()`` returns the
samples are in the operating system's page cache and survive the process being killed
(``kill -9``). A background fsync every ``wal_fsync_interval`` bounds what a power loss or
kernel crash can take.

A flush rotates to a new segment, writes the head's samples as chunks, records the last
flushed segment number in SQLite in the same transaction, and then deletes the old
segments; a crash in between replays nothing twice because replay skips segments up to
that number.

Records::

    series   B 1 | I count | count x (q id | I length | labels as JSON)
    samples  B 2 | I count | B ids are uint32 (1) or int64 (0)
                 | B one shared timestamp (1) or one per sample (0)
                 | ids | timestamps | values (float64)
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from watchkeeper.core.errors import StorageError
from watchkeeper.core.labels import Labels

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")
_SERIES = 1
_SAMPLES = 2
_U32_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    series: list[tuple[int, Labels]]


@dataclass(frozen=True, slots=True)
class SamplesRecord:
    ids: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def labels_to_json(labels: Labels) -> str:
    return _ENCODER.encode(labels.items_tuple)


def labels_from_json(text: str) -> Labels:
    return Labels((str(k), str(v)) for k, v in json.loads(text))


def _frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def encode_series(series: list[tuple[int, Labels]]) -> bytes:
    parts = [struct.pack("<BI", _SERIES, len(series))]
    for sid, labels in series:
        text = labels_to_json(labels).encode("utf-8")
        parts.append(struct.pack("<qI", sid, len(text)))
        parts.append(text)
    return _frame(b"".join(parts))


def encode_samples(ids: array[int], timestamps: array[int], values: array[float]) -> bytes:
    n = len(ids)
    id_arr = np.frombuffer(ids, dtype=np.int64)
    small_ids = n == 0 or int(id_arr.max()) <= _U32_MAX
    id_bytes = id_arr.astype(np.uint32).tobytes() if small_ids else ids.tobytes()
    del id_arr
    shared = n > 0 and timestamps.count(timestamps[0]) == n
    ts_bytes = struct.pack("<q", timestamps[0]) if shared else timestamps.tobytes()
    header = struct.pack("<BIBB", _SAMPLES, n, int(small_ids), int(shared))
    return _frame(header + id_bytes + ts_bytes + values.tobytes())


def _decode(payload: bytes) -> SeriesRecord | SamplesRecord:
    kind = payload[0]
    if kind == _SERIES:
        (count,) = struct.unpack_from("<I", payload, 1)
        off = 5
        out = []
        for _ in range(count):
            sid, length = struct.unpack_from("<qI", payload, off)
            off += 12
            out.append((sid, labels_from_json(payload[off : off + length].decode("utf-8"))))
            off += length
        return SeriesRecord(out)
    if kind == _SAMPLES:
        n, small_ids, shared = struct.unpack_from("<IBB", payload, 1)
        off = 7
        id_size = 4 if small_ids else 8
        ids = np.frombuffer(
            payload, dtype=np.uint32 if small_ids else np.int64, count=n, offset=off
        )
        off += n * id_size
        if shared:
            ts = np.full(n, struct.unpack_from("<q", payload, off)[0], dtype=np.int64)
            off += 8
        else:
            ts = np.frombuffer(payload, dtype=np.int64, count=n, offset=off)
            off += 8 * n
        vals = np.frombuffer(payload, dtype=np.float64, count=n, offset=off)
        return SamplesRecord(ids.astype(np.int64), ts, vals)
    raise ValueError(f"unknown record type {kind}")


class WriteAheadLog:
    """Segment files under ``directory``; writes happen under the store's lock."""

    def __init__(self, directory: Path, on_fsync: Callable[[float], None] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.on_fsync = on_fsync
        self._sync_lock = threading.Lock()
        existing = self.segments()
        self.segment = (existing[-1] if existing else 0) + 1
        self._fd = self._open(self.segment)
        self._dirty = False

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:08d}"

    def _open(self, seq: int) -> int:
        try:
            fd = os.open(self._path(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StorageError(f"cannot open write-ahead log {self._path(seq)}: {exc}") from exc
        return fd

    def segments(self) -> list[int]:
        return sorted(int(p.name) for p in self.directory.iterdir() if p.name.isdigit())

    def write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            raise StorageError(f"cannot write the write-ahead log: {exc}") from exc
        self._dirty = True

    def rotate(self) -> int:
        """Start a new segment; returns the number of the one just closed. Call under the
        store's lock; the old segment is fsynced and closed here."""
        with self._sync_lock:
            old_fd, old = self._fd, self.segment
            self.segment += 1
            self._fd = self._open(self.segment)
            try:
                os.fsync(old_fd)
            finally:
                os.close(old_fd)
        return old

    def sync(self) -> None:
        with self._sync_lock:
            if not self._dirty:
                return
            self._dirty = False
            started = time.perf_counter()
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise StorageError(f"cannot fsync the write-ahead log: {exc}") from exc
            if self.on_fsync is not None:
                self.on_fsync(time.perf_counter() - started)

    def remove_upto(self, seq: int) -> None:
        for old in self.segments():
            if old <= seq and old != self.segment:
                self._path(old).unlink(missing_ok=True)

    def size(self) -> int:
        return sum(self._path(s).stat().st_size for s in self.segments())

    def close(self) -> None:
        with self._sync_lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1

    def replay(self, after: int) -> Iterator[SeriesRecord | SamplesRecord]:
        """Records of every segment numbered above ``after`` (except the one being written),
        in order. A torn or corrupt tail ends its segment with a warning."""
        for seq in self.segments():
            if seq <= after or seq == self.segment:
                continue
            data = self._path(seq).read_bytes()
            off = 0
            while off < len(data):
                if off + _FRAME.size > len(data):
                    log.warning("write-ahead log segment %d: torn record at byte %d", seq, off)
                    break
                length, crc = _FRAME.unpack_from(data, off)
                payload = data[off + _FRAME.size : off + _FRAME.size + length]
                if len(payload) != length or zlib.crc32(payload) != crc:
                    log.warning(
                        "write-ahead log segment %d: corrupt record at byte %d; "
                        "the %d bytes after it are skipped",
                        seq,
                        off,
                        len(data) - off,
                    )
                    break
                try:
                    yield _decode(payload)
                except (ValueError, struct.error, UnicodeDecodeError) as exc:
                    log.warning("write-ahead log segment %d: bad record at %d: %s", seq, off, exc)
                    break
                off += _FRAME.size + length
