"""Remote write 1.0 bodies: snappy block compression around a protobuf ``WriteRequest``.

:class:`WriteDecoder` turns a request body into samples grouped by the series' ``job`` and
``instance`` (the scope of the per-target cardinality limit, as for scraped targets);
:class:`WriteEncoder` turns samples into request bodies for the sender. Both keep a bounded
cache of the series they have seen, because a sender repeats the same series in every
request and decoding labels costs far more than the samples (see :mod:`.proto`).

Every check of a body happens before anything is returned: a body with one malformed
series is refused as a whole (:class:`~watchkeeper.remote.errors.PushError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter

import cramjam
from google.protobuf.message import DecodeError

from watchkeeper.core.labels import Labels
from watchkeeper.remote import proto
from watchkeeper.remote.errors import PushError, PushTooLargeError
from watchkeeper.tsdb.base import Sample
from watchkeeper.tsdb.head import invalid_labels

PUSH_SOURCE_PREFIX = "push:"
DEFAULT_CACHE_SERIES = 200_000
_MIN_T = -(2**63)


def push_source(labels: Labels) -> str:
    """The cardinality scope of a pushed series: ``push:<job>/<instance>``."""
    return f"{PUSH_SOURCE_PREFIX}{labels.get('job', '')}/{labels.get('instance', '')}"


def snappy_decompress(body: bytes, max_decoded_bytes: int) -> bytes:
    """Undo snappy block compression, refusing bodies that would decode past the limit
    before decoding them (the block format starts with the decoded length)."""
    try:
        size = int(cramjam.snappy.decompress_raw_len(body))
    except cramjam.DecompressionError:
        raise PushError(_NOT_SNAPPY) from None
    if size > max_decoded_bytes:
        raise PushTooLargeError(
            f"the body decodes to {size} bytes, more than the limit of {max_decoded_bytes} "
            "(storage.push.max_decoded_bytes); send smaller batches (Prometheus: lower "
            "queue_config.max_samples_per_send) or raise the limit"
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError:
        raise PushError(_NOT_SNAPPY) from None


_NOT_SNAPPY = (
    "the body is not snappy block-compressed data; remote write 1.0 sends a protobuf "
    "WriteRequest compressed with snappy's block format (not the framed format) and "
    "'Content-Encoding: snappy'"
)


@dataclass(slots=True)
class DecodedWrite:
    """Samples of one request, grouped by cardinality scope (see :func:`push_source`);
    ``series`` lists each scope's series (for the cardinality check). Exemplars are not
    stored and not counted."""

    groups: dict[str, list[Sample]] = field(default_factory=dict)
    series: dict[str, list[Labels]] = field(default_factory=dict)
    samples: int = 0
    histograms: int = 0  # native histogram samples: not stored


class WriteDecoder:
    """Decodes request bodies; thread-safe (the cache is a dict, updated atomically)."""

    def __init__(self, *, max_decoded_bytes: int, cache_series: int = DEFAULT_CACHE_SERIES):
        self.max_decoded_bytes = max_decoded_bytes
        self._cache_series = cache_series
        self._series: dict[bytes, tuple[Labels, str]] = {}

    def decode(self, body: bytes) -> DecodedWrite:
        raw = snappy_decompress(body, self.max_decoded_bytes)
        try:
            request = proto.WriteRequestView.FromString(raw)
        except DecodeError as exc:
            raise PushError(
                f"the body is not a remote-write WriteRequest protobuf ({exc}); send "
                "Prometheus remote write 1.0 (Content-Type: application/x-protobuf)"
            ) from None
        out = DecodedWrite()
        cache = self._series
        groups = out.groups
        series = out.series
        problems: list[str] = []
        histograms = 0
        # The hot loop (figures in bench/remote_ingest.py). A series is keyed by the bytes
        # of its TimeSeries once the samples are taken out: one serialization instead of a
        # bytes object per label. Keys in the cache never hold exemplars or histograms, so
        # a series that carries any misses the cache, gets them counted and cleared, and
        # is looked up again.
        for ts in request.timeseries:
            samples = ts.samples
            if len(samples) == 1:
                s = samples[0]
                points = None
                t, v = s.timestamp, s.value
            else:
                points = [(s.timestamp, s.value) for s in samples]
            ts.ClearField("samples")
            key = ts.SerializeToString()
            known = cache.get(key)
            if known is None:
                if ts.histograms or ts.exemplars:
                    histograms += len(ts.histograms)
                    ts.ClearField("histograms")
                    ts.ClearField("exemplars")
                    key = ts.SerializeToString()
                    known = cache.get(key)
                if known is None:
                    problem, known = _series_of(tuple(ts.labels))
                    if known is None:
                        problems.append(problem)
                        continue
                    if len(cache) >= self._cache_series:
                        cache.clear()
                    cache[key] = known
            labels, source = known
            group = groups.get(source)
            if group is None:
                group = groups[source] = []
                series[source] = []
            series[source].append(labels)
            if points is None:
                group.append((labels, t, v))
            else:
                group.extend([(labels, pt, pv) for pt, pv in points])
        if problems:
            more = f" (and {len(problems) - 1} more series)" if len(problems) > 1 else ""
            raise PushError(
                f"{problems[0]}{more}; nothing of this request was stored. Fix or drop these "
                "series at the sender (e.g. with write_relabel_configs)"
            )
        out.samples = sum(len(g) for g in groups.values())
        out.histograms = histograms
        return out


def _series_of(key: tuple[bytes, ...]) -> tuple[str, tuple[Labels, str] | None]:
    pairs: list[tuple[str, str]] = []
    try:
        for raw in key:
            label = proto.Label.FromString(raw)
            pairs.append((label.name, label.value))
    except DecodeError:
        return "a series has a label that is not valid UTF-8 protobuf", None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        return f"series {dict(pairs)} gives label {twice[0]!r} twice", None
    labels = Labels(pairs)
    problem = invalid_labels(labels)
    if problem:
        return problem, None
    return "", (labels, push_source(labels))


class WriteEncoder:
    """Builds request bodies; keeps the serialized labels of recent series. Not
    thread-safe: one encoder per sender."""

    def __init__(
        self,
        external_labels: Mapping[str, str] | None = None,
        *,
        cache_series: int = DEFAULT_CACHE_SERIES,
    ) -> None:
        self._external = dict(external_labels or {})
        self._cache_series = cache_series
        self._labels: dict[Labels, list[bytes]] = {}

    def _label_bytes(self, labels: Labels) -> list[bytes]:
        found = self._labels.get(labels)
        if found is None:
            full = labels
            if self._external:
                full = Labels({**self._external, **labels.to_dict()})
            found = [
                proto.Label(name=name, value=value).SerializeToString()
                for name, value in full.items_tuple
            ]
            if len(self._labels) >= self._cache_series:
                self._labels.clear()
            self._labels[labels] = found
        return found

    def encode(self, series: Iterable[tuple[Labels, Sequence[tuple[int, float]]]]) -> bytes:
        """A snappy-compressed ``WriteRequest`` body with the given series, each with its
        (timestamp in ms, value) points sorted by time."""
        request = proto.WriteRequestView()
        add = request.timeseries.add
        label_bytes = self._label_bytes
        for labels, points in series:
            ts = add()
            ts.labels.extend(label_bytes(labels))
            samples_add = ts.samples.add
            for t, v in points:
                samples_add(value=v, timestamp=t)
        return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))

    def encode_batches(
        self, samples: Iterable[Sample], max_samples: int
    ) -> Iterator[tuple[bytes, int, int]]:
        """Request bodies of at most ``max_samples`` samples each: samples grouped by
        series (first-seen order, each series sorted by time; a series longer than a
        request continues in the next). Yields (body, samples, newest timestamp in ms)."""
        grouped: dict[Labels, list[tuple[int, float]]] = {}
        get = grouped.get
        for labels, t, v in samples:
            points = get(labels)
            if points is None:
                grouped[labels] = [(t, v)]
            else:
                points.append((t, v))
        rows: list[tuple[Labels, Sequence[tuple[int, float]]]] = []
        count = 0
        newest = _MIN_T
        for labels, points in grouped.items():
            if len(points) > 1 and any(b[0] < a[0] for a, b in pairwise(points)):
                points.sort(key=itemgetter(0))
            while points:
                take = max_samples - count
                part = points if len(points) <= take else points[:take]
                points = [] if part is points else points[take:]
                rows.append((labels, part))
                count += len(part)
                last = part[-1][0]
                if last > newest:
                    newest = last
                if count >= max_samples:
                    yield self.encode(rows), count, newest
                    rows, count, newest = [], 0, _MIN_T
        if rows:
            yield self.encode(rows), count, newest


def decode_request(body: bytes, *, max_decoded_bytes: int = 1 << 30) -> list[Sample]:
    """Every sample of a request body, grouped by cardinality scope (tests and tools)."""
    decoded = WriteDecoder(max_decoded_bytes=max_decoded_bytes, cache_series=1).decode(body)
    return [s for group in decoded.groups.values() for s in group]
