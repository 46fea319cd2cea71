"""Push ingestion without the web framework: a remote-write body or exposition text in,
samples appended to the store, a :class:`PushResult` out.

Order of work for one push: decode and check everything (a malformed body, a bad series,
a body over the size limits is refused as a whole), check the batch's new series against
the store's cardinality limits (refused as a whole), then append. Appending goes through
the store like every scraped sample, so its listeners fire and rules that read the pushed
metrics are evaluated at once.

What the store refuses sample by sample is reported, not hidden: samples older than the
out-of-order window (``storage.out_of_order_window``) and native-histogram samples are
counted in the result (the push answers 400 with the counts so the sender logs it, and
the other samples of the push are stored, as Mimir does) and in
``watchkeeper_push_samples_rejected_total``. Duplicates (a sample already stored at that
timestamp, as when a sender retries after a timeout) are success.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter

from watchkeeper.collect.scrape.fastparse import ExpositionSyntaxError, parse_lines
from watchkeeper.collect.scrape.parse import is_openmetrics
from watchkeeper.core.clock import Clock, now_ms
from watchkeeper.core.labels import Labels, is_valid_label_name
from watchkeeper.remote.codec import WriteDecoder, push_source
from watchkeeper.remote.config import PushConfig
from watchkeeper.remote.errors import PushError, PushTooLargeError, SeriesLimitError
from watchkeeper.tsdb.base import AppendResult, Sample, SeriesStore
from watchkeeper.tsdb.head import invalid_labels


class PushKind(StrEnum):
    REMOTE_WRITE = "remote_write"
    TEXT = "text"


class RejectReason(StrEnum):
    OUT_OF_ORDER = "out_of_order"
    HISTOGRAM = "histogram"
    SERIES_LIMIT = "series_limit"


@dataclass(frozen=True, slots=True)
class PushResult:
    received: int  # samples in the push
    appended: int
    duplicates: int
    out_of_order: int
    histograms: int  # native histogram samples, not stored
    rejected_series: int  # new series the store refused (a race with other appends)
    window_s: float

    @property
    def complete(self) -> bool:
        """Whether every sample was stored (duplicates count as stored)."""
        return not (self.out_of_order or self.histograms or self.rejected_series)

    def to_json(self) -> dict[str, int]:
        return {
            "received": self.received,
            "appended": self.appended,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "histograms": self.histograms,
            "rejected_series": self.rejected_series,
        }

    def message(self) -> str:
        parts = []
        if self.out_of_order:
            parts.append(
                f"{self.out_of_order} samples were older than their series' newest sample by "
                f"more than the out-of-order window ({self.window_s:g}s, "
                "storage.out_of_order_window)"
            )
        if self.histograms:
            parts.append(f"{self.histograms} native histogram samples are not stored")
        if self.rejected_series:
            parts.append(
                f"{self.rejected_series} new series passed the series limits "
                "(storage.max_series, storage.max_series_per_target)"
            )
        stored = self.appended + self.duplicates
        return (
            f"{'; '.join(parts)}. The other {stored} of {self.received} samples were stored; "
            "a retry would be refused the same way"
        )


class PushMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "watchkeeper_push_requests",
            "Push requests by endpoint and HTTP status code.",
            ["kind", "code"],
            registry=reg,
        )
        self.samples = Counter(
            "watchkeeper_push_samples_appended",
            "Pushed samples stored.",
            ["kind"],
            registry=reg,
        )
        self.rejected = Counter(
            "watchkeeper_push_samples_rejected",
            "Pushed samples of accepted requests that were not stored, by reason.",
            ["kind", "reason"],
            registry=reg,
        )
        self.refused_samples = Counter(
            "watchkeeper_push_requests_refused_samples",
            "Samples of push requests refused as a whole (malformed, too large, series "
            "limit); known only once the body was decoded.",
            ["kind"],
            registry=reg,
        )


class PushIngester:
    """Thread-safe; the web layer runs it in a worker thread."""

    def __init__(
        self,
        store: SeriesStore,
        *,
        clock: Clock,
        config: PushConfig | None = None,
        window_s: float = 0.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config or PushConfig()
        self.window_s = window_s
        self.metrics = PushMetrics(registry)
        self._decoder = WriteDecoder(max_decoded_bytes=self.config.max_decoded_bytes)
        self._lock = threading.Lock()

    # --- the two formats ------------------------------------------------------------------

    def remote_write(self, body: bytes) -> PushResult:
        decoded = self._decoder.decode(body)
        return self._store(
            PushKind.REMOTE_WRITE, decoded.groups, decoded.histograms, decoded.series
        )

    def text(
        self,
        body: bytes,
        *,
        content_type: str | None = None,
        gzip: bool = False,
        extra_labels: Mapping[str, str] | None = None,
        default_timestamp_ms: int | None = None,
    ) -> PushResult:
        """Exposition text (Prometheus 0.0.4, or OpenMetrics by ``content_type``); samples
        without a timestamp get ``default_timestamp_ms`` or now."""
        raw = gunzip(body, self.config.max_decoded_bytes) if gzip else body
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PushError(f"the body is not UTF-8 text (byte {exc.start}); send UTF-8") from None
        openmetrics = is_openmetrics(content_type)
        try:
            rows = parse_lines(text, openmetrics=openmetrics)
        except ExpositionSyntaxError as exc:
            fmt = "OpenMetrics" if openmetrics else "Prometheus text format 0.0.4"
            raise PushError(
                f"malformed exposition text ({fmt}) at line {exc.line}: {exc.text[:120]!r}: "
                f"{exc.why}; nothing was stored. Check it with `promtool check metrics`"
            ) from None
        extra = dict(extra_labels or {})
        at = now_ms(self.clock) if default_timestamp_ms is None else default_timestamp_ms
        groups: dict[str, list[Sample]] = {}
        series: dict[str, list[Labels]] = {}
        seen: dict[tuple[tuple[str, str], ...], tuple[Labels, str]] = {}
        for pairs, value, ts in rows:
            if extra:
                pairs.update(extra)
            labels = Labels(pairs)
            known = seen.get(labels.items_tuple)
            if known is None:
                problem = invalid_labels(labels)
                if problem:
                    raise PushError(f"{problem}; nothing was stored")
                known = seen[labels.items_tuple] = (labels, push_source(labels))
                series.setdefault(known[1], []).append(labels)
            groups.setdefault(known[1], []).append((known[0], at if ts is None else ts, value))
        return self._store(PushKind.TEXT, groups, 0, series)

    # --- storing --------------------------------------------------------------------------

    def _store(
        self,
        kind: PushKind,
        groups: dict[str, list[Sample]],
        histograms: int,
        series: Mapping[str, Sequence[Labels]],
    ) -> PushResult:
        received = sum(len(g) for g in groups.values())
        result = AppendResult()
        check = getattr(self.store, "series_limit_problem", None)
        with self._lock:
            if callable(check):
                problem = check(series)
                if problem:
                    self.metrics.refused_samples.labels(kind.value).inc(received)
                    raise SeriesLimitError(f"{problem}; nothing of this push was stored")
            for source, samples in groups.items():
                part = self.store.append(samples, source=source)
                result.appended += part.appended
                result.duplicates += part.duplicates
                result.out_of_order += part.out_of_order
                result.rejected_series += part.rejected_series
        out = PushResult(
            received=received + histograms,
            appended=result.appended,
            duplicates=result.duplicates,
            out_of_order=result.out_of_order,
            histograms=histograms,
            rejected_series=result.rejected_series,
            window_s=self.window_s,
        )
        m = self.metrics
        if out.appended:
            m.samples.labels(kind.value).inc(out.appended)
        for reason, count in (
            (RejectReason.OUT_OF_ORDER, out.out_of_order),
            (RejectReason.HISTOGRAM, out.histograms),
            (RejectReason.SERIES_LIMIT, _not_stored_for_series(out, received)),
        ):
            if count:
                m.rejected.labels(kind.value, reason.value).inc(count)
        return out

    def refused(self, kind: PushKind, code: int) -> None:
        self.metrics.requests.labels(kind.value, str(code)).inc()


def _not_stored_for_series(result: PushResult, received: int) -> int:
    if not result.rejected_series:
        return 0
    return max(0, received - result.appended - result.duplicates - result.out_of_order)


def gunzip(body: bytes, limit: int) -> bytes:
    """gzip-decoded body, refused once it passes ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PushError(
            f"the body is not valid gzip ({exc}); drop Content-Encoding or fix it"
        ) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PushTooLargeError(
            f"the body decodes to more than {limit} bytes (storage.push.max_decoded_bytes); "
            "send smaller pushes or raise the limit"
        )
    if not inflater.eof:
        raise PushError("the gzip body is truncated; send the whole compressed body")
    return out


def valid_extra_labels(values: Iterable[str]) -> dict[str, str]:
    """``extra_label=name=value`` query arguments (VictoriaMetrics' convention)."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not is_valid_label_name(name):
            raise PushError(
                f"extra_label {item!r} must be name=value with a valid label name, e.g. "
                "extra_label=job=backup"
            )
        out[name] = value
    return out
