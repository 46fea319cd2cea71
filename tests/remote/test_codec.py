"""Remote-write bodies: the fast views read and write exactly what the canonical messages
do (round trips with Hypothesis), NaN bits included."""

from __future__ import annotations

import math
import struct

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.core.labels import Labels
from watchkeeper.remote import proto
from watchkeeper.remote.codec import WriteDecoder, WriteEncoder, push_source
from watchkeeper.remote.errors import PushError, PushTooLargeError
from watchkeeper.tsdb.base import STALE_NAN, is_stale_nan

from .support import body

names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
values = st.text(min_size=1, max_size=12)
label_sets = st.dictionaries(names, values, max_size=4).map(
    lambda d: {**{k: v for k, v in d.items() if k != "__name__"}, "__name__": "metric_x"}
)
floats = st.one_of(st.floats(allow_nan=True), st.just(STALE_NAN))
points = st.lists(
    st.tuples(st.integers(min_value=-(2**62), max_value=2**62), floats), min_size=1, max_size=5
)


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(label_sets, points), max_size=6))
def test_decoding_a_canonical_body_gives_back_every_sample_bit_for_bit(
    rows: list[tuple[dict[str, str], list[tuple[int, float]]]],
) -> None:
    decoded = WriteDecoder(max_decoded_bytes=1 << 24).decode(body(rows))
    got = sorted(
        (labels.items_tuple, t, bits(v)) for g in decoded.groups.values() for labels, t, v in g
    )
    want = sorted((Labels(labels).items_tuple, t, bits(v)) for labels, pts in rows for t, v in pts)
    assert got == want
    assert decoded.samples == len(want)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(label_sets, points), max_size=6), st.integers(1, 7))
def test_encoded_batches_parse_with_the_canonical_messages_and_keep_every_sample(
    rows: list[tuple[dict[str, str], list[tuple[int, float]]]], per_request: int
) -> None:
    samples = [(Labels(labels), t, v) for labels, pts in rows for t, v in pts]
    encoder = WriteEncoder({"cluster": "eu"})
    got = []
    for payload, count, newest in encoder.encode_batches(samples, per_request):
        request = proto.WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(payload)))
        in_request = []
        for ts in request.timeseries:
            pairs = [(label.name, label.value) for label in ts.labels]
            assert pairs == sorted(pairs)  # remote write wants labels sorted by name
            times = [s.timestamp for s in ts.samples]
            assert times == sorted(times)
            in_request += [(tuple(pairs), s.timestamp, bits(s.value)) for s in ts.samples]
        assert 0 < len(in_request) == count <= per_request
        assert newest == max(t for _, t, _ in in_request)
        got += in_request
    want = [
        (Labels({"cluster": "eu", **labels.to_dict()}).items_tuple, t, bits(v))
        for labels, t, v in samples
    ]
    assert sorted(got) == sorted(want)


def test_a_series_own_label_wins_over_an_external_label() -> None:
    encoder = WriteEncoder({"cluster": "eu", "replica": "1"})
    ((payload, _, _),) = encoder.encode_batches(
        [(Labels({"__name__": "m", "cluster": "us"}), 1, 1.0)], 10
    )
    request = proto.WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(payload)))
    labels = {label.name: label.value for label in request.timeseries[0].labels}
    assert labels == {"__name__": "m", "cluster": "us", "replica": "1"}


def test_the_staleness_marker_keeps_its_bits_through_both_directions() -> None:
    encoder = WriteEncoder()
    ((payload, _, _),) = encoder.encode_batches([(Labels({"__name__": "m"}), 5, STALE_NAN)], 10)
    decoded = WriteDecoder(max_decoded_bytes=1 << 20).decode(payload)
    ((_, _, value),) = next(iter(decoded.groups.values()))
    assert is_stale_nan(value)
    assert math.isnan(value)


def test_samples_are_grouped_by_job_and_instance() -> None:
    rows = [
        ({"__name__": "up", "job": "a", "instance": "1"}, [(1, 1.0)]),
        ({"__name__": "up", "job": "a", "instance": "2"}, [(1, 1.0)]),
        ({"__name__": "load", "job": "a", "instance": "1"}, [(1, 1.0)]),
        ({"__name__": "orphan"}, [(1, 1.0)]),
    ]
    decoded = WriteDecoder(max_decoded_bytes=1 << 20).decode(body(rows))
    assert {k: len(v) for k, v in decoded.groups.items()} == {
        "push:a/1": 2,
        "push:a/2": 1,
        "push:/": 1,
    }
    assert push_source(Labels({"job": "x"})) == "push:x/"


def test_the_decoded_size_is_checked_before_decompressing() -> None:
    payload = bytes(cramjam.snappy.compress_raw(b"\x00" * 100_000))
    with pytest.raises(PushTooLargeError, match="decodes to 100000 bytes"):
        WriteDecoder(max_decoded_bytes=10_000).decode(payload)


def test_a_label_that_is_not_utf8_is_refused() -> None:
    label = b"\x0a\x01a\x12\x03\xff\xfe\xfd"  # Label{name: "a", value: <not UTF-8>}
    request = proto.WriteRequestView()
    request.timeseries.add().labels.append(label)
    raw = request.SerializeToString()
    with pytest.raises(PushError, match="not valid UTF-8"):
        WriteDecoder(max_decoded_bytes=1 << 20).decode(bytes(cramjam.snappy.compress_raw(raw)))


def test_the_cache_of_seen_series_stays_bounded() -> None:
    decoder = WriteDecoder(max_decoded_bytes=1 << 20, cache_series=10)
    rows = [({"__name__": "m", "id": str(i)}, [(1, 1.0)]) for i in range(25)]
    decoded = decoder.decode(body(rows))
    assert sum(len(s) for s in decoded.series.values()) == 25
    assert len(decoder._series) <= 10
