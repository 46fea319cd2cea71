"""Chunk encoding: a series' samples as a compact, compressed blob, bit-exact.

Layout (little endian)::

    header  B version | B value mode | B decimal scale | B ts dtype | B value dtype
            I sample count | I special count
    body    compressed(first ts: q | ts delta-of-deltas: ts dtype[n-1]
                       | value payload | special positions: I[k] | special bits: Q[k])

Timestamps are stored as delta-of-deltas (regular scrapes make them zero or tiny), narrowed
to the smallest integer type that holds them. Values use the first mode that reproduces
every bit:

- ``DECIMAL``: the values are integers once multiplied by ``10**scale`` (counters, gauges
  with a few decimals): stored as integer deltas (or raw integers when smaller), narrowed.
  Non-finite values (NaN payloads such as the staleness marker, infinities) are kept aside
  as (position, bits) pairs.
- ``XOR``: each value's bits XOR the previous value's bits (the Gorilla idea), byte-shuffled
  so the compressor sees long runs of equal bytes.

The compressor is zstd (via ``cramjam``); ``bench/tsdb_codec.py`` measures it against zlib
and lz4 and the decimal/XOR modes against each other.

``encode_chunk(..., fast=True)`` (``RAW`` mode) skips all of that: raw int64 timestamps and
float64 values, lz4-compressed, about 50 times cheaper to encode. Head flushes write such
chunks; compaction rewrites them in the compact form once their window is finished.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any

import cramjam
import numpy as np
import numpy.typing as npt

VERSION = 1
_HEADER = struct.Struct("<BBBBBII")
_MAX_SCALE = 6
_EXACT_LIMIT = float(2**52)
_DTYPES: tuple[type[np.signedinteger[Any]], ...] = (np.int8, np.int16, np.int32, np.int64)
_LIMITS = [(np.iinfo(d).min, np.iinfo(d).max) for d in _DTYPES]
_ZSTD_LEVEL = 3

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class ValueMode(IntEnum):
    XOR = 0
    DECIMAL_RAW = 1
    DECIMAL_DELTA = 2
    RAW = 3  # timestamps and values as they are, lz4: cheap, for short-lived chunks


class ChunkFormatError(ValueError):
    """A stored chunk cannot be decoded (corrupt or from a newer version)."""


def _narrow(values: I64) -> tuple[int, bytes]:
    if values.size == 0:
        return 0, b""
    lo, hi = int(values.min()), int(values.max())
    for code, (dmin, dmax) in enumerate(_LIMITS):
        if dmin <= lo and hi <= dmax:
            return code, values.astype(_DTYPES[code]).tobytes()
    return 3, values.tobytes()  # pragma: no cover - int64 always fits


def _span(values: I64) -> int:
    if values.size == 0:
        return 0
    return max(abs(int(values.min())), abs(int(values.max())))


def _decimal(values: F64) -> tuple[int, I64, npt.NDArray[np.bool_]] | None:
    """(scale, integers, non-finite mask) when every finite value is an exact decimal."""
    special = ~np.isfinite(values)
    finite = values[~special] if special.any() else values
    if finite.size == 0:
        return 0, np.zeros(values.size, dtype=np.int64), special
    if float(np.abs(finite).max()) >= _EXACT_LIMIT:
        return None
    with np.errstate(all="ignore"):
        for scale in range(_MAX_SCALE + 1):
            factor = float(10**scale)
            rounded = np.rint(finite * factor)
            if float(np.abs(rounded).max()) >= _EXACT_LIMIT:
                return None
            ints = rounded.astype(np.int64)
            back = ints.astype(np.float64)
            if scale:
                back /= factor
            if np.array_equal(back.view(np.uint64), finite.view(np.uint64)):
                out = np.zeros(values.size, dtype=np.int64)
                if special.any():
                    out[~special] = ints
                    # Carry the previous integer into the gaps so deltas stay small.
                    idx = np.where(~special, np.arange(values.size), 0)
                    np.maximum.accumulate(idx, out=idx)
                    out = out[idx]
                else:
                    out = ints
                return scale, out, special
    return None


def encode_raw(ts_and_values: bytes, n: int) -> bytes:
    """A ``RAW`` chunk from ``n`` int64 timestamps followed by ``n`` float64 values."""
    body = bytes(cramjam.lz4.compress_block(ts_and_values))
    return _HEADER.pack(VERSION, ValueMode.RAW, 0, 3, 3, n, 0) + body


def encode_chunk(timestamps: I64, values: F64, *, fast: bool = False) -> bytes:
    """Encode sorted timestamps (ms) and their values; bit-exact on decode."""
    n = int(timestamps.size)
    if n != values.size:
        raise ValueError("timestamps and values differ in length")
    ts = np.ascontiguousarray(timestamps, dtype=np.int64)
    vals = np.ascontiguousarray(values, dtype=np.float64)
    parts: list[bytes] = []
    if n == 0:
        return _HEADER.pack(VERSION, ValueMode.XOR, 0, 0, 0, 0, 0)
    if fast:
        return encode_raw(ts.tobytes() + vals.tobytes(), n)
    parts.append(struct.pack("<q", int(ts[0])))
    deltas = np.diff(ts)
    dod = np.diff(deltas, prepend=np.int64(0)) if deltas.size else deltas
    ts_code, ts_bytes = _narrow(dod)
    parts.append(ts_bytes)
    dec = _decimal(vals)
    specials_pos = b""
    specials_bits = b""
    n_special = 0
    if dec is not None:
        scale, ints, special = dec
        delta = np.diff(ints)
        if _span(delta) < _span(ints):
            mode = ValueMode.DECIMAL_DELTA
            val_code, val_bytes = _narrow(delta)
            val_bytes = struct.pack("<q", int(ints[0])) + val_bytes
        else:
            mode = ValueMode.DECIMAL_RAW
            val_code, val_bytes = _narrow(ints)
        if special.any():
            pos = np.flatnonzero(special).astype(np.uint32)
            n_special = int(pos.size)
            specials_pos = pos.tobytes()
            specials_bits = vals[special].view(np.uint64).tobytes()
    else:
        scale, val_code = 0, 3
        mode = ValueMode.XOR
        bits = vals.view(np.uint64)
        xored = np.bitwise_xor(bits, np.concatenate(([np.uint64(0)], bits[:-1])))
        val_bytes = xored.view(np.uint8).reshape(n, 8).T.tobytes()
    parts += [val_bytes, specials_pos, specials_bits]
    header = _HEADER.pack(VERSION, mode, scale, ts_code, val_code, n, n_special)
    body = bytes(cramjam.zstd.compress(b"".join(parts), level=_ZSTD_LEVEL))
    return header + body


def decode_chunk(data: bytes) -> tuple[I64, F64]:
    """The timestamps and values of an encoded chunk."""
    if len(data) < _HEADER.size:
        raise ChunkFormatError("chunk too short")
    version, mode, scale, ts_code, val_code, n, _ = _HEADER.unpack_from(data)
    if version != VERSION or mode > 3 or ts_code > 3 or val_code > 3 or scale > _MAX_SCALE:
        raise ChunkFormatError(f"unknown chunk format (version {version}, mode {mode})")
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    if mode == ValueMode.RAW:
        try:
            raw = bytes(cramjam.lz4.decompress_block(memoryview(data)[_HEADER.size :]))
        except cramjam.DecompressionError as exc:
            raise ChunkFormatError(f"chunk body does not decompress: {exc}") from None
        if len(raw) != 16 * n:
            raise ChunkFormatError(f"chunk body has {len(raw)} bytes, expected {16 * n}")
        return (
            np.frombuffer(raw, dtype=np.int64, count=n),
            np.frombuffer(raw, dtype=np.float64, count=n, offset=8 * n),
        )
    try:
        body = bytes(cramjam.zstd.decompress(memoryview(data)[_HEADER.size :]))
    except cramjam.DecompressionError as exc:
        raise ChunkFormatError(f"chunk body does not decompress: {exc}") from None
    return decode_body(data[: _HEADER.size], body)


def decode_body(header: bytes, body: bytes) -> tuple[I64, F64]:
    """Decode a compact chunk from its header and its decompressed body (benchmarks use
    this to try other compressors with the same transforms)."""
    _, mode, scale, ts_code, val_code, n, n_special = _HEADER.unpack_from(header)
    ts_dtype = np.dtype(_DTYPES[ts_code])
    val_dtype = np.dtype(_DTYPES[val_code])
    ts_len = (n - 1) * ts_dtype.itemsize
    if mode == ValueMode.XOR:
        val_len = n * 8
    elif mode == ValueMode.DECIMAL_DELTA:
        val_len = 8 + (n - 1) * val_dtype.itemsize
    else:
        val_len = n * val_dtype.itemsize
    need = 8 + ts_len + val_len + n_special * 12
    if len(body) != need:
        raise ChunkFormatError(f"chunk body has {len(body)} bytes, expected {need}")
    first = struct.unpack_from("<q", body)[0]
    dod = np.frombuffer(body, dtype=ts_dtype, count=n - 1, offset=8).astype(np.int64)
    ts = np.empty(n, dtype=np.int64)
    ts[0] = first
    if n > 1:
        np.cumsum(np.cumsum(dod), out=ts[1:])
        ts[1:] += first
    off = 8 + ts_len
    if mode == ValueMode.XOR:
        shuffled = np.frombuffer(body, dtype=np.uint8, count=n * 8, offset=off)
        xored = np.ascontiguousarray(shuffled.reshape(8, n).T).view(np.uint64).reshape(n)
        vals = np.bitwise_xor.accumulate(xored).view(np.float64)
        return ts, vals
    if mode == ValueMode.DECIMAL_DELTA:
        ints = np.empty(n, dtype=np.int64)
        ints[0] = struct.unpack_from("<q", body, off)[0]
        if n > 1:
            rest = np.frombuffer(body, dtype=val_dtype, count=n - 1, offset=off + 8)
            np.cumsum(rest, dtype=np.int64, out=ints[1:])
            ints[1:] += ints[0]
    else:
        ints = np.frombuffer(body, dtype=val_dtype, count=n, offset=off).astype(np.int64)
    vals = ints.astype(np.float64)
    if scale:
        vals /= float(10**scale)
    if n_special:
        off += val_len
        pos = np.frombuffer(body, dtype=np.uint32, count=n_special, offset=off)
        bits = np.frombuffer(body, dtype=np.uint64, count=n_special, offset=off + 4 * n_special)
        vals.view(np.uint64)[pos] = bits
    return ts, vals


# ----- many chunks at once

_ZERO = np.zeros(1, dtype=np.int64)


class _Batch:
    """Pieces of many chunks, laid out so that one segmented scan per step decodes all."""

    __slots__ = ("firsts", "lengths", "modes", "raw_ts", "scales", "specials", "ts", "vals")

    def __init__(self) -> None:
        self.ts: list[np.ndarray] = []  # per chunk: 0, then its delta-of-deltas
        self.vals: list[np.ndarray] = []  # per chunk: its n values before the inverse scan
        self.firsts: list[int] = []
        self.lengths: list[int] = []
        self.modes: list[int] = []
        self.scales: list[int] = []
        self.raw_ts: list[tuple[int, np.ndarray]] = []
        self.specials: list[tuple[int, bytes, int]] = []

    def add(self, data: bytes) -> None:
        if len(data) < _HEADER.size:
            raise ChunkFormatError("chunk too short")
        version, mode, scale, ts_code, val_code, n, n_special = _HEADER.unpack_from(data)
        if version != VERSION or mode > 3 or ts_code > 3 or val_code > 3 or scale > _MAX_SCALE:
            raise ChunkFormatError(f"unknown chunk format (version {version}, mode {mode})")
        index = len(self.lengths)
        self.lengths.append(n)
        self.modes.append(mode)
        self.scales.append(scale)
        if n == 0:
            self.firsts.append(0)
            return
        if mode == ValueMode.RAW:
            ts, vals = decode_chunk(data)
            self.raw_ts.append((index, ts))
            self.firsts.append(0)
            self.ts.append(np.zeros(n, dtype=np.int64))
            self.vals.append(vals.view(np.int64))
            return
        try:
            body = bytes(cramjam.zstd.decompress(memoryview(data)[_HEADER.size :]))
        except cramjam.DecompressionError as exc:
            raise ChunkFormatError(f"chunk body does not decompress: {exc}") from None
        ts_dtype = _DTYPES[ts_code]
        val_dtype = _DTYPES[val_code]
        ts_len = (n - 1) * np.dtype(ts_dtype).itemsize
        off = 8 + ts_len
        if mode == ValueMode.XOR:
            val_len = n * 8
            shuffled = np.frombuffer(body, dtype=np.uint8, count=n * 8, offset=off)
            self.vals.append(np.ascontiguousarray(shuffled.reshape(8, n).T).view(np.int64).ravel())
        elif mode == ValueMode.DECIMAL_DELTA:
            val_len = 8 + (n - 1) * np.dtype(val_dtype).itemsize
            self.vals.append(np.frombuffer(body, dtype=np.int64, count=1, offset=off))
            self.vals.append(np.frombuffer(body, dtype=val_dtype, count=n - 1, offset=off + 8))
        else:
            val_len = n * np.dtype(val_dtype).itemsize
            self.vals.append(np.frombuffer(body, dtype=val_dtype, count=n, offset=off))
        if len(body) != off + val_len + n_special * 12:
            raise ChunkFormatError(f"chunk body has {len(body)} bytes, not what its header says")
        self.firsts.append(struct.unpack_from("<q", body)[0])
        self.ts.append(_ZERO)
        self.ts.append(np.frombuffer(body, dtype=ts_dtype, count=n - 1, offset=8))
        if n_special:
            self.specials.append((index, body[off + val_len :], n_special))


def _segmented_cumsum(a: I64, starts: I64, lengths: I64) -> I64:
    with np.errstate(over="ignore"):
        cs = np.cumsum(a)
        cs -= np.repeat(cs[starts] - a[starts], lengths)
    return cs


def decode_many(blobs: list[bytes]) -> tuple[I64, F64, I64]:
    """Decode chunks in one pass: (timestamps, values, offsets) where chunk ``i`` is
    ``[offsets[i], offsets[i + 1])``. Bit-exact like :func:`decode_chunk`, with a constant
    number of NumPy calls for the whole batch instead of a dozen per chunk."""
    batch = _Batch()
    for blob in blobs:
        batch.add(blob)
    lengths = np.array(batch.lengths, dtype=np.int64)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if not batch.ts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), offsets
    nonempty = lengths > 0
    seg_starts, seg_lengths = offsets[:-1][nonempty], lengths[nonempty]
    # Timestamps: two segmented cumulative sums of the delta-of-deltas, plus the first.
    dods = np.concatenate(batch.ts, dtype=np.int64, casting="safe")
    ts = _segmented_cumsum(
        _segmented_cumsum(dods, seg_starts, seg_lengths), seg_starts, seg_lengths
    )
    ts += np.repeat(np.array(batch.firsts, dtype=np.int64), lengths)
    for index, raw_ts in batch.raw_ts:
        ts[offsets[index] : offsets[index + 1]] = raw_ts
    # Values: each mode's inverse over the whole batch, then the right one per sample.
    raw = np.concatenate(batch.vals, dtype=np.int64, casting="safe")
    modes = set(batch.modes)
    per_sample = (
        np.repeat(np.array(batch.modes, dtype=np.int64), lengths) if len(modes) > 1 else None
    )
    bits = raw.view(np.uint64)
    out_bits = bits
    if ValueMode.XOR in modes:
        acc = np.bitwise_xor.accumulate(bits)
        acc ^= np.repeat(acc[seg_starts] ^ bits[seg_starts], seg_lengths)
        out_bits = acc if per_sample is None else np.where(per_sample == ValueMode.XOR, acc, bits)
    if modes & {ValueMode.DECIMAL_DELTA, ValueMode.DECIMAL_RAW}:
        ints = raw
        if ValueMode.DECIMAL_DELTA in modes:
            summed = _segmented_cumsum(raw, seg_starts, seg_lengths)
            ints = (
                summed
                if per_sample is None
                else np.where(per_sample == ValueMode.DECIMAL_DELTA, summed, raw)
            )
        decimals = ints.astype(np.float64)
        if any(batch.scales):
            decimals /= np.repeat(np.power(10.0, np.array(batch.scales, dtype=np.float64)), lengths)
        if per_sample is None:
            out_bits = decimals.view(np.uint64)
        else:
            is_decimal = (per_sample == ValueMode.DECIMAL_DELTA) | (
                per_sample == ValueMode.DECIMAL_RAW
            )
            out_bits = np.where(is_decimal, decimals.view(np.uint64), out_bits)
    elif out_bits is bits:
        out_bits = bits.copy()
    for index, tail, k in batch.specials:
        pos = np.frombuffer(tail, dtype=np.uint32, count=k).astype(np.int64)
        out_bits[offsets[index] + pos] = np.frombuffer(tail, dtype=np.uint64, count=k, offset=4 * k)
    return ts, out_bits.view(np.float64), offsets
