"""The remote-write sender's persistent queue: request bodies on disk, first in first out,
kept across restarts and bounded in bytes.

Layout of the queue's directory::

    00000000000000000001.seg    records: <u32 length><u32 crc32><u64 samples><i64 newest ms><body>
    00000000000000000002.seg
    cursor                      "<segment> <offset>": where the oldest unsent record starts

``put`` appends a record to the newest segment (a new segment every ``segment_bytes``);
``peek`` returns the oldest unsent record and ``ack`` moves the cursor past it (rewritten
with a rename) and deletes a segment once every record in it is sent. A ``put`` fsyncs when
the last fsync is ``fsync_interval_s`` old, and :meth:`sync` (the sender calls it after each
batch) and closing fsync what is left: a ``kill -9`` loses nothing written, a power loss
what was written since the last fsync. A record cut short by a crash (short or with a bad
checksum) ends its segment: on open the segment is truncated there.

When a ``put`` would take the queue past ``max_bytes`` the oldest segments are deleted,
sent or not, and their unsent samples reported as dropped: during a long outage the queue
keeps the newest data.

Thread-safe: one lock guards the files and the in-memory index of unsent records.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from watchkeeper.core.clock import Clock
from watchkeeper.remote.errors import RemoteWriteQueueError

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIQq")
_SUFFIX = ".seg"
_CURSOR = "cursor"
DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    """One request body waiting to be sent."""

    payload: bytes
    samples: int
    newest_ms: int  # the newest sample timestamp in it
    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class QueueDepth:
    batches: int
    samples: int
    bytes: int  # on disk, segments not yet deleted


@dataclass(frozen=True, slots=True)
class _Entry:
    segment: int
    offset: int
    length: int  # payload bytes
    samples: int
    newest_ms: int

    @property
    def end(self) -> int:
        return self.offset + _HEADER.size + self.length


class DiskQueue:
    """See the module docstring. ``open`` recovers what an earlier process left."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        clock: Clock,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync_interval_s: float = 1.0,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(4096, min(segment_bytes, max_bytes // 4 or 4096))
        self._clock = clock
        self._fsync_interval = fsync_interval_s
        self._lock = threading.Lock()
        self._entries: deque[_Entry] = deque()
        self._sizes: dict[int, int] = {}  # segment -> bytes on disk
        self._samples = 0
        self._writer: BinaryIO | None = None
        self._active = 0
        self._dirty = False
        self._last_sync = clock.monotonic()
        self._reader: tuple[int, BinaryIO] | None = None
        self._closed = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._recover()
        except OSError as exc:
            raise RemoteWriteQueueError(
                f"cannot use the remote-write queue directory {directory}: "
                f"{exc.strerror or exc}; check storage.path and its permissions"
            ) from exc

    # --- recovery -------------------------------------------------------------------------

    def _segment_path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}{_SUFFIX}"

    def _recover(self) -> None:
        segments = sorted(
            int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit()
        )
        start_seg, start_off = self._read_cursor()
        for seq in segments:
            path = self._segment_path(seq)
            if seq < start_seg:
                path.unlink(missing_ok=True)
                continue
            offset = start_off if seq == start_seg else 0
            good_end = self._scan(seq, path, offset, verify=seq == segments[-1])
            self._sizes[seq] = good_end
        self._active = (segments[-1] + 1) if segments else max(start_seg, 1)
        if self._entries:
            log.info(
                "remote-write queue %s: %d samples in %d requests left from before",
                self.directory.name,
                self._samples,
                len(self._entries),
            )

    def _read_cursor(self) -> tuple[int, int]:
        try:
            text = (self.directory / _CURSOR).read_text(encoding="ascii").split()
            return int(text[0]), int(text[1])
        except (OSError, ValueError, IndexError):
            return 0, 0

    def _scan(self, seq: int, path: Path, offset: int, *, verify: bool) -> int:
        """Index the records of a segment from ``offset``; truncate a torn tail."""
        size = path.stat().st_size
        with path.open("r+b") as f:
            pos = 0
            while pos + _HEADER.size <= size:
                f.seek(pos)
                length, crc, samples, newest = _HEADER.unpack(f.read(_HEADER.size))
                end = pos + _HEADER.size + length
                if end > size:
                    break
                if verify and zlib.crc32(f.read(length)) != crc:
                    break
                if pos >= offset:
                    self._entries.append(_Entry(seq, pos, length, samples, newest))
                    self._samples += samples
                pos = end
            if pos < size:
                log.warning(
                    "remote-write queue %s: segment %d ends in a partial record (a crash "
                    "while writing); dropping its last %d bytes",
                    self.directory.name,
                    seq,
                    size - pos,
                )
                f.truncate(pos)
        return pos

    # --- writing --------------------------------------------------------------------------

    def put(self, payload: bytes, samples: int, newest_ms: int = 0) -> int:
        """Append one request body. Returns how many queued samples were dropped to stay
        within ``max_bytes`` (the new record's own if it alone is too big)."""
        size = _HEADER.size + len(payload)
        with self._lock:
            self._check_open()
            if size > self.max_bytes:
                return samples
            dropped = 0
            while self._bytes() + size > self.max_bytes and self._sizes:
                oldest = min(self._sizes)
                if oldest == self._active:
                    self._rotate()
                dropped += self._drop_segment(oldest)
            if self._writer is None or self._sizes.get(self._active, 0) >= self.segment_bytes:
                self._rotate()
            writer = self._writer
            if writer is None:  # pragma: no cover - _rotate opened it
                raise RemoteWriteQueueError("the queue has no open segment")
            offset = self._sizes.get(self._active, 0)
            try:
                writer.write(_HEADER.pack(len(payload), zlib.crc32(payload), samples, newest_ms))
                writer.write(payload)
                writer.flush()
            except OSError as exc:
                raise RemoteWriteQueueError(
                    f"cannot write the remote-write queue in {self.directory}: "
                    f"{exc.strerror or exc}"
                ) from exc
            self._sizes[self._active] = offset + size
            self._entries.append(_Entry(self._active, offset, len(payload), samples, newest_ms))
            self._samples += samples
            self._dirty = True
            now = self._clock.monotonic()
            if now - self._last_sync >= self._fsync_interval:
                self._sync(now)
            return dropped

    def _rotate(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            os.fsync(self._writer.fileno())
            self._writer.close()
            self._writer = None
            self._active += 1
        self._writer = self._segment_path(self._active).open("ab")
        self._sizes.setdefault(self._active, self._writer.tell())

    def _drop_segment(self, seq: int) -> int:
        dropped = 0
        while self._entries and self._entries[0].segment == seq:
            entry = self._entries.popleft()
            dropped += entry.samples
            self._samples -= entry.samples
        self._forget_segment(seq)
        if dropped:
            log.warning(
                "remote-write queue %s is full (%d bytes): dropped %d unsent samples",
                self.directory.name,
                self.max_bytes,
                dropped,
            )
        return dropped

    def _forget_segment(self, seq: int) -> None:
        if self._reader is not None and self._reader[0] == seq:
            self._reader[1].close()
            self._reader = None
        self._sizes.pop(seq, None)
        self._segment_path(seq).unlink(missing_ok=True)

    def sync(self) -> None:
        """Fsync what was written since the last fsync."""
        with self._lock:
            if not self._closed and self._dirty:
                self._sync(self._clock.monotonic())

    def _sync(self, now: float) -> None:
        if self._writer is not None and self._dirty:
            os.fsync(self._writer.fileno())
        self._dirty = False
        self._last_sync = now

    # --- reading --------------------------------------------------------------------------

    def peek(self) -> QueuedBatch | None:
        """The oldest unsent request body, or ``None`` when the queue is empty."""
        with self._lock:
            self._check_open()
            if not self._entries:
                return None
            entry = self._entries[0]
            reader = self._reader
            if reader is None or reader[0] != entry.segment:
                if reader is not None:
                    reader[1].close()
                reader = (entry.segment, self._segment_path(entry.segment).open("rb"))
                self._reader = reader
            f = reader[1]
            f.seek(entry.offset + _HEADER.size)
            payload = f.read(entry.length)
            if len(payload) != entry.length:
                raise RemoteWriteQueueError(
                    f"remote-write queue segment {entry.segment} in {self.directory} is "
                    "shorter than its index; was it changed by another process?"
                )
            return QueuedBatch(payload, entry.samples, entry.newest_ms, entry.segment, entry.offset)

    def ack(self, batch: QueuedBatch) -> None:
        """Forget ``batch`` (sent, or refused for good). A batch that was already dropped
        to make room is ignored."""
        with self._lock:
            self._check_open()
            if not self._entries:
                return
            head = self._entries[0]
            if (head.segment, head.offset) != (batch.segment, batch.offset):
                return
            self._entries.popleft()
            self._samples -= head.samples
            nxt = self._entries[0] if self._entries else None
            cursor = (nxt.segment, nxt.offset) if nxt else (head.segment, head.end)
            self._write_cursor(*cursor)
            for seq in [s for s in self._sizes if s < cursor[0]]:
                self._forget_segment(seq)

    def _write_cursor(self, segment: int, offset: int) -> None:
        tmp = self.directory / (_CURSOR + ".tmp")
        tmp.write_text(f"{segment} {offset}\n", encoding="ascii")
        os.replace(tmp, self.directory / _CURSOR)

    # --- state ----------------------------------------------------------------------------

    def _bytes(self) -> int:
        return sum(self._sizes.values())

    def depth(self) -> QueueDepth:
        with self._lock:
            return QueueDepth(len(self._entries), self._samples, self._bytes())

    def _check_open(self) -> None:
        if self._closed:
            raise RemoteWriteQueueError("the remote-write queue is closed")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._writer is not None:
                self._writer.flush()
                os.fsync(self._writer.fileno())
                self._writer.close()
                self._writer = None
            if self._reader is not None:
                self._reader[1].close()
                self._reader = None
