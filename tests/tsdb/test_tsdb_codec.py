"""Chunk encoding round-trips bit-exactly, whatever the timestamps and value bits."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb.base import STALE_NAN
from watchkeeper.tsdb.codec import (
    ChunkFormatError,
    ValueMode,
    decode_chunk,
    decode_many,
    encode_chunk,
)
from watchkeeper.tsdb.rollups import compute, decode, encode

_any_float = st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
_decimal_float = st.integers(-(10**9), 10**9).map(lambda i: i / 100)
_value = st.one_of(_any_float, _decimal_float, st.just(STALE_NAN), st.just(-0.0), st.just(0.0))


@st.composite
def chunks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 64))
    start = draw(st.integers(-(2**62), 2**62))
    gaps = draw(st.lists(st.integers(1, 10**7), min_size=n, max_size=n))
    ts = start + np.cumsum(np.array(gaps, dtype=np.int64))
    values = np.array(draw(st.lists(_value, min_size=n, max_size=n)), dtype=np.float64)
    return ts, values


def bits(a: np.ndarray) -> list[int]:
    return a.view(np.uint64).tolist()


@settings(max_examples=80, deadline=None)
@given(chunks(), st.booleans())
def test_chunks_round_trip_bit_exactly(chunk: tuple[np.ndarray, np.ndarray], fast: bool) -> None:
    ts, values = chunk
    got_ts, got_values = decode_chunk(encode_chunk(ts, values, fast=fast))
    assert got_ts.tolist() == ts.tolist()
    assert bits(got_values) == bits(values)


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ([1.0, 2.0, 3.0, 5.0], ValueMode.DECIMAL_DELTA),
        ([12.34, 56.78, 0.01, STALE_NAN], ValueMode.DECIMAL_DELTA),
        ([0.1 + 0.2, 1 / 3, 2.0, 7.0], ValueMode.XOR),
        ([-0.0, 1.0, 2.0, 3.0], ValueMode.XOR),  # -0.0 is not an integer bit-wise
    ],
)
def test_values_pick_the_mode_that_keeps_every_bit(values: list[float], mode: ValueMode) -> None:
    ts = np.arange(4, dtype=np.int64) * 15_000
    data = encode_chunk(ts, np.array(values))
    assert data[1] == mode
    assert bits(decode_chunk(data)[1]) == bits(np.array(values))


def test_regular_scrapes_compress_to_a_few_bytes_per_sample() -> None:
    n = 480
    ts = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 15_000
    counter = np.cumsum(np.arange(n) % 7).astype(np.float64)
    assert len(encode_chunk(ts, counter)) / n < 1.5
    assert len(encode_chunk(ts, counter, fast=True)) / n > 4  # the cheap form is bigger


def test_a_corrupt_chunk_is_a_clear_error() -> None:
    data = encode_chunk(np.arange(10, dtype=np.int64), np.arange(10, dtype=np.float64))
    with pytest.raises(ChunkFormatError, match=r"does not decompress|bytes, expected"):
        decode_chunk(data[:-3])
    with pytest.raises(ChunkFormatError, match="unknown chunk format"):
        decode_chunk(b"\x09" + data[1:])


@settings(max_examples=40, deadline=None)
@given(chunks(), st.sampled_from([300_000, 3_600_000]))
def test_rollup_rows_round_trip(chunk: tuple[np.ndarray, np.ndarray], res: int) -> None:
    ts, values = chunk
    buckets = compute(ts, values, res)
    back = decode(encode(buckets))
    for a, b in zip(buckets, back, strict=True):
        assert a.view(np.uint64).tolist() == b.view(np.uint64).tolist()
    assert int(back[4].sum()) == int((~np.isnan(values)).sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(chunks(), st.booleans()), max_size=6))
def test_decoding_many_chunks_at_once_matches_one_by_one(
    batch: list[tuple[tuple[np.ndarray, np.ndarray], bool]],
) -> None:
    blobs = [encode_chunk(ts, values, fast=fast) for (ts, values), fast in batch]
    ts_all, values_all, offsets = decode_many(blobs)
    assert offsets.tolist()[-1] == ts_all.size == sum(c[0].size for c, _ in batch)
    for i, ((ts, values), _) in enumerate(batch):
        a, b = offsets[i], offsets[i + 1]
        assert ts_all[a:b].tolist() == ts.tolist()
        assert bits(values_all[a:b]) == bits(values)
