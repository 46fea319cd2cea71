"""Chunk encodings compared: bytes per sample and CPU per sample, per kind of series.

    .venv/bin/python bench/tsdb_codec.py [--samples 480] [--series 200]

Candidates (all bit-exact):
- ``chosen``: delta-of-delta timestamps + decimal-integer or XOR values, byte-shuffled,
  narrowed, zstd (what compaction writes; ``watchkeeper.tsdb.codec``);
- ``same+zlib`` / ``same+lz4``: the same transforms with another compressor;
- ``numpy+zlib``: raw int64/float64 arrays through zlib (the naive "NumPy + zlib");
- ``raw+lz4``: what head flushes write (cheap, short-lived).

Series kinds: ``counter`` (integer increments), ``gauge2`` (2-decimal random values, the
shared W1 fleet's shape, a worst case), ``const`` (``up``-like), ``float`` (full-precision
random floats, the true worst case). Timestamps: 15 s scrapes with ±5 ms jitter.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from collections.abc import Callable

import cramjam
import numpy as np

from watchkeeper.tsdb import codec

Encoder = Callable[[np.ndarray, np.ndarray], bytes]


_H = codec._HEADER.size


def _transformed(ts: np.ndarray, vals: np.ndarray) -> tuple[bytes, bytes]:
    # The chosen encoding's header and body before compression.
    data = codec.encode_chunk(ts, vals)
    return data[:_H], bytes(cramjam.zstd.decompress(data[_H:]))


def _with(compress: Callable[[bytes], bytes]) -> Encoder:
    def encode(ts: np.ndarray, vals: np.ndarray) -> bytes:
        header, body = _transformed(ts, vals)
        return header + compress(body)

    return encode


def candidates() -> dict[str, tuple[Encoder, Callable[[bytes], object]]]:
    return {
        "chosen": (codec.encode_chunk, codec.decode_chunk),
        "same+zlib": (
            _with(lambda body: zlib.compress(body, 6)),
            lambda b: codec.decode_body(b[:_H], zlib.decompress(b[_H:])),
        ),
        "same+lz4": (
            _with(lambda body: bytes(cramjam.lz4.compress_block(body))),
            lambda b: codec.decode_body(b[:_H], bytes(cramjam.lz4.decompress_block(b[_H:]))),
        ),
        "numpy+zlib": (
            lambda t, v: zlib.compress(t.tobytes() + v.tobytes(), 6),
            lambda b: (
                np.frombuffer(zlib.decompress(b), dtype=np.int64),
                np.frombuffer(zlib.decompress(b), dtype=np.float64),
            ),
        ),
        "raw+lz4": (
            lambda t, v: codec.encode_chunk(t, v, fast=True),
            codec.decode_chunk,
        ),
    }


def series_kinds(rng: np.random.Generator, n: int) -> dict[str, Callable[[], np.ndarray]]:
    return {
        "counter": lambda: np.cumsum(rng.integers(0, 40, n)).astype(np.float64),
        "gauge2": lambda: np.round(rng.uniform(0, 100, n), 2),
        "const": lambda: np.ones(n),
        "float": lambda: rng.uniform(0, 1, n) * rng.uniform(0.001, 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=480, help="samples per chunk (2h @ 15s)")
    parser.add_argument("--series", type=int, default=200, help="chunks per kind")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    n = args.samples
    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind, make in series_kinds(rng, n).items():
        chunks = []
        for _ in range(args.series):
            ts = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 15_000
            ts += rng.integers(-5, 6, n)
            chunks.append((ts, make()))
        results[kind] = {}
        for name, (enc, dec) in candidates().items():
            started = time.process_time()
            blobs = [enc(t, v) for t, v in chunks]
            enc_s = time.process_time() - started
            started = time.process_time()
            for b in blobs:
                dec(b)
            dec_s = time.process_time() - started
            total = args.series * n
            results[kind][name] = {
                "bytes_per_sample": round(sum(len(b) for b in blobs) / total, 3),
                "encode_us_per_sample": round(enc_s / total * 1e6, 3),
                "decode_us_per_sample": round(dec_s / total * 1e6, 3),
            }
    print(
        json.dumps(
            {"samples_per_chunk": n, "chunks_per_kind": args.series, "results": results},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
