"""Downsampled rollups: per series and bucket (5 minutes, 1 hour), the min, max, sum and
count of the samples whose timestamp falls in ``[bucket start, bucket start + resolution)``.

NaN values (staleness markers included) are left out of every aggregate; a bucket with no
other sample is absent. Rollups are computed when a 2-hour window is compacted, stored as
rows (5m: one row per 2-hour window, 1h: one row per day), and computed on the fly from
raw samples for the time after the last compacted window.
"""

from __future__ import annotations

import struct

import cramjam
import numpy as np
import numpy.typing as npt

from watchkeeper.tsdb.codec import ChunkFormatError

FIVE_MINUTES_MS = 300_000
ONE_HOUR_MS = 3_600_000
RESOLUTIONS_MS = (FIVE_MINUTES_MS, ONE_HOUR_MS)
ROW_SPAN_MS = {FIVE_MINUTES_MS: 2 * ONE_HOUR_MS, ONE_HOUR_MS: 24 * ONE_HOUR_MS}
_HEADER = struct.Struct("<BI")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Buckets = tuple[I64, F64, F64, F64, I64]
"""(bucket starts, min, max, sum, count), sorted by bucket start."""


def empty_buckets() -> Buckets:
    f = np.empty(0, dtype=np.float64)
    i = np.empty(0, dtype=np.int64)
    return i, f, f, f, i


def compute(timestamps: I64, values: F64, resolution_ms: int) -> Buckets:
    """Buckets of sorted samples."""
    keep = ~np.isnan(values)
    ts = timestamps[keep]
    vals = values[keep]
    if ts.size == 0:
        return empty_buckets()
    starts_all = (ts // resolution_ms) * resolution_ms
    change = np.flatnonzero(np.diff(starts_all)) + 1
    bounds = np.concatenate(([0], change))
    starts = starts_all[bounds]
    mins = np.minimum.reduceat(vals, bounds)
    maxs = np.maximum.reduceat(vals, bounds)
    sums = np.add.reduceat(vals, bounds)
    counts = np.diff(np.concatenate((bounds, [ts.size]))).astype(np.int64)
    return starts, mins, maxs, sums, counts


def merge(base: Buckets, update: Buckets, lo: int, hi: int) -> Buckets:
    """``base`` with its buckets in ``[lo, hi)`` replaced by ``update``'s."""
    starts = base[0]
    outside = (starts < lo) | (starts >= hi)
    parts = [np.concatenate((b[outside], u)) for b, u in zip(base, update, strict=True)]
    order = np.argsort(parts[0], kind="stable")
    return (
        parts[0][order],
        parts[1][order],
        parts[2][order],
        parts[3][order],
        parts[4][order],
    )


def encode(buckets: Buckets) -> bytes:
    starts, mins, maxs, sums, counts = buckets
    body = b"".join(a.tobytes() for a in (starts, mins, maxs, sums, counts.astype(np.int64)))
    return _HEADER.pack(1, int(starts.size)) + bytes(cramjam.zstd.compress(body, level=3))


def decode(data: bytes) -> Buckets:
    if len(data) < _HEADER.size:
        raise ChunkFormatError("rollup row too short")
    version, n = _HEADER.unpack_from(data)
    if version != 1:
        raise ChunkFormatError(f"unknown rollup format {version}")
    body = bytes(cramjam.zstd.decompress(memoryview(data)[_HEADER.size :]))
    if len(body) != 40 * n:
        raise ChunkFormatError("rollup row has the wrong size")
    starts = np.frombuffer(body, dtype=np.int64, count=n, offset=0)
    mins = np.frombuffer(body, dtype=np.float64, count=n, offset=8 * n)
    maxs = np.frombuffer(body, dtype=np.float64, count=n, offset=16 * n)
    sums = np.frombuffer(body, dtype=np.float64, count=n, offset=24 * n)
    counts = np.frombuffer(body, dtype=np.int64, count=n, offset=32 * n)
    return starts, mins, maxs, sums, counts


def concat(parts: list[Buckets]) -> Buckets:
    if not parts:
        return empty_buckets()
    if len(parts) == 1:
        return parts[0]
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return cols[0], cols[1], cols[2], cols[3], cols[4]


def clip(buckets: Buckets, start: int, end: int) -> Buckets:
    starts = buckets[0]
    lo = int(np.searchsorted(starts, start, side="left"))
    hi = int(np.searchsorted(starts, end, side="right"))
    return (
        buckets[0][lo:hi],
        buckets[1][lo:hi],
        buckets[2][lo:hi],
        buckets[3][lo:hi],
        buckets[4][lo:hi],
    )
