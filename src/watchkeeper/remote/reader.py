"""The read side of :class:`~watchkeeper.tsdb.base.SeriesStore` answered by a remote TSDB's
Prometheus API (``storage.query_url``): what the query API's ``series``, ``labels`` and
``label/<name>/values`` routes and the dashboard's pickers read. ``select`` asks for the
raw samples with a range-vector instant query (``{matchers}[<range>]`` at the range's
end), so even the embedded engine could run on top of it; the remote never returns
staleness markers, only the samples it keeps.

Appends are refused: with ``storage.query_url`` samples reach the remote through
``storage.remote_write``, and the embedded store keeps receiving them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from watchkeeper.core.errors import StorageError
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.remote.query import PrometheusAPI, parse_matrix, seconds
from watchkeeper.tsdb.base import AppendResult, Sample, SeriesData, SeriesListener, StoreStats

_ANY_SERIES = '{__name__=~".+"}'
_MIN_MS = -62_135_596_800_000  # Prometheus' minimum time (year 1)
_MAX_MS = 253_402_300_799_000  # and maximum (year 9999)


def selector(matchers: Sequence[Matcher]) -> str:
    """A series selector for the API's ``match[]`` parameter."""
    if not matchers:
        return _ANY_SERIES
    return "{" + ",".join(str(m) for m in matchers) + "}"


def _clamp(ms: int | None, default: int) -> str:
    if ms is None:
        return seconds(default)
    return seconds(min(max(ms, _MIN_MS), _MAX_MS))


class RemoteSeriesReader:
    """A read-only :class:`~watchkeeper.tsdb.base.SeriesStore` over the remote API."""

    def __init__(self, api: PrometheusAPI) -> None:
        self.api = api

    def _range(self, start_ms: int | None, end_ms: int | None) -> list[tuple[str, str]]:
        params = []
        if start_ms is not None:
            params.append(("start", _clamp(start_ms, _MIN_MS)))
        if end_ms is not None:
            params.append(("end", _clamp(end_ms, _MAX_MS)))
        return params

    def append(self, samples: Iterable[Sample], *, source: str | None = None) -> AppendResult:
        raise StorageError(
            "the remote TSDB behind storage.query_url is read here; samples reach it "
            "through storage.remote_write"
        )

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        span = max(1, end_ms - start_ms + 1)
        expr = f"{selector(matchers)}[{span}ms]"
        data = self.api.call("query", [("query", expr), ("time", seconds(end_ms))])
        result = data.get("result") if isinstance(data, dict) else None
        out = []
        for s in parse_matrix(result or []):
            keep = (s.timestamps >= start_ms) & (s.timestamps <= end_ms)
            if np.any(keep):
                out.append(SeriesData(s.labels, s.timestamps[keep], s.values[keep]))
        return out

    def series(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Labels]:
        params = [("match[]", selector(matchers)), *self._range(start_ms, end_ms)]
        data = self.api.call("series", params) or []
        return sorted(Labels(item.items()) for item in data)

    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        params = self._range(start_ms, end_ms)
        if matchers:
            params.append(("match[]", selector(matchers)))
        return sorted(str(n) for n in self.api.call("labels", params) or [])

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        params = self._range(start_ms, end_ms)
        if matchers:
            params.append(("match[]", selector(matchers)))
        found = self.api.call(f"label/{name}/values", params) or []
        return sorted(str(v) for v in found)

    def subscribe(self, listener: SeriesListener) -> None:
        """Nothing to subscribe to: the remote does not push."""

    def stats(self) -> StoreStats:
        return StoreStats(series=0, samples_in_head=0, samples_appended_total=0, bytes_on_disk=0)

    def flush(self) -> None:
        """Nothing buffered here."""

    def close(self) -> None:
        """The API client belongs to the engine; :meth:`RemotePromQL.close` closes it."""
