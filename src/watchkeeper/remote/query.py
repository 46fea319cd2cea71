"""``storage.query_url``: PromQL answered by a remote TSDB (VictoriaMetrics, Prometheus,
Mimir) through its Prometheus HTTP API, behind the same interface as the embedded
:class:`~watchkeeper.promql.Engine`, the way vmalert and Grafana-managed alerts work::

    engine = RemotePromQL("http://victoria:8428", clock=clock, config=cfg.storage.query)
    engine.instant("sum(rate(http_requests_total[5m]))", at_s)   # Vector / Scalar / ...
    engine.samples(expr, at_s)                                   # what rules read
    engine.range_ms(expr, start_ms, end_ms, step_ms)             # Matrix
    reader = RemoteSeriesReader(engine.api)   # series / labels / label values / select

Expressions are parsed here first (the PromQL the embedded engine reads: a mistake is the
same :class:`~watchkeeper.core.errors.QueryParseError` with or without a remote, and never
costs a round trip). The remote's answers become Watchkeeper's result types; its errors
become the same
exceptions the embedded engine raises (``bad_data`` -> QueryParseError, ``timeout`` ->
QueryTimeoutError, ``execution`` -> QueryError), and an unreachable or failing remote is
:class:`~watchkeeper.remote.errors.RemoteQueryError` (503 ``unavailable``). Calls are
synchronous (rules and the query API run them in worker threads) and share one
connection pool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from watchkeeper import __version__
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import (
    QueryError,
    QueryParseError,
    QueryTimeoutError,
)
from watchkeeper.core.labels import Labels
from watchkeeper.promql.ast import parse
from watchkeeper.promql.protocol import QueryEngine, range_ms, rule_samples, seconds_to_ms
from watchkeeper.promql.values import Matrix, Result, Sample, Scalar, Series, String, Vector
from watchkeeper.remote.config import RemoteQueryConfig
from watchkeeper.remote.errors import RemoteQueryError

__all__ = ["QueryEngine", "RemotePromQL"]


def seconds(ms: int) -> str:
    """Milliseconds as the API's seconds parameter (exact: three decimals)."""
    sign = "-" if ms < 0 else ""
    whole, frac = divmod(abs(ms), 1000)
    return f"{sign}{whole}.{frac:03d}"


def _ms(value: Any) -> int:
    return round(float(value) * 1000)


class PrometheusAPI:
    """The remote's ``/api/v1`` endpoints over one sync httpx client."""

    def __init__(
        self,
        url: str,
        *,
        config: RemoteQueryConfig | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config or RemoteQueryConfig()
        self.url = url.rstrip("/")
        self.host = urlsplit(self.url).netloc or self.url
        self._client = httpx.Client(
            transport=transport,
            headers={"User-Agent": f"Watchkeeper/{__version__}", **self.config.auth_headers()},
            timeout=httpx.Timeout(float(self.config.timeout)),
            follow_redirects=False,
        )

    def call(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        """POST a form to ``<url>/api/v1/<path>``; the ``data`` of a success envelope."""
        try:
            response = self._client.post(f"{self.url}/api/v1/{path}", data=_form(params))
        except httpx.TimeoutException as exc:
            raise RemoteQueryError(
                f"the remote TSDB at {self.host} did not answer in "
                f"{float(self.config.timeout):g}s (storage.query.timeout): {exc}"
            ) from None
        except httpx.HTTPError as exc:
            raise RemoteQueryError(
                f"cannot reach the remote TSDB at {self.host} (storage.query_url): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            text = " ".join(response.text.split())[:200]
            if response.status_code == 404:
                raise RemoteQueryError(
                    f"{self.url}/api/v1/{path} answered 404: storage.query_url must be the URL "
                    "under which /api/v1/query is served (e.g. http://victoria:8428 or "
                    "http://mimir/prometheus)"
                )
            raise RemoteQueryError(
                f"the remote TSDB at {self.host} answered HTTP {response.status_code} without "
                f"a Prometheus API response: {text!r}"
            )
        if body["status"] == "success" and response.status_code < 300:
            return body.get("data")
        raise _error(self.host, response.status_code, body)

    def close(self) -> None:
        self._client.close()


def _form(params: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for key, value in params:
        form.setdefault(key, []).append(value)
    return form


def _error(host: str, status: int, body: Mapping[str, Any]) -> QueryError:
    kind = str(body.get("errorType", ""))
    message = f"{body.get('error', 'unknown error')} (from the remote TSDB at {host})"
    if kind == "bad_data" or status == 400 or "cannot parse" in message:
        return QueryParseError(message)
    if kind == "timeout":
        return QueryTimeoutError(message)
    if status >= 500 or kind in ("unavailable", "internal"):
        return RemoteQueryError(message)
    return QueryError(message)


def _labels(metric: Mapping[str, str]) -> Labels:
    return Labels(metric.items())


def parse_result(data: Any, default_ms: int) -> Result:
    """A ``/api/v1/query`` ``data`` object as a Watchkeeper result."""
    if not isinstance(data, dict):
        raise RemoteQueryError("the remote TSDB answered without a result")
    kind = data.get("resultType")
    result: Any = data.get("result")
    if result is None:
        raise RemoteQueryError("the remote TSDB answered without a result")
    if kind == "vector":
        samples = tuple(
            Sample(_labels(r["metric"]), float(r["value"][1]), _ms(r["value"][0])) for r in result
        )
        return Vector(samples, default_ms)
    if kind == "scalar":
        return Scalar(float(result[1]), _ms(result[0]))
    if kind == "string":
        return String(str(result[1]), _ms(result[0]))
    if kind == "matrix":
        return parse_matrix(result)
    raise RemoteQueryError(f"the remote TSDB answered an unknown result type {kind!r}")


def parse_matrix(result: Sequence[Mapping[str, Any]]) -> Matrix:
    series = []
    for r in result:
        points = r.get("values") or []
        ts = np.array([_ms(p[0]) for p in points], dtype=np.int64)
        vals = np.array([float(p[1]) for p in points], dtype=np.float64)
        series.append(Series(_labels(r["metric"]), ts, vals))
    series.sort(key=lambda s: s.labels.items_tuple)
    return Matrix(tuple(series))


class RemotePromQL:
    """A :class:`QueryEngine` that asks the remote TSDB."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        config: RemoteQueryConfig | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.clock = clock
        self.api = PrometheusAPI(url, config=config, transport=transport)

    def _timeout(self, timeout_s: float | None) -> list[tuple[str, str]]:
        return [] if timeout_s is None else [("timeout", f"{timeout_s:g}s")]

    def instant(
        self, expr: str, at_s: float | None = None, *, timeout_s: float | None = None
    ) -> Result:
        when = self.clock.now() if at_s is None else at_s
        return self.instant_ms(expr, seconds_to_ms(when), timeout_s=timeout_s)

    def instant_ms(self, expr: str, at_ms: int, *, timeout_s: float | None = None) -> Result:
        parse(expr)
        params = [("query", expr), ("time", seconds(at_ms)), *self._timeout(timeout_s)]
        return parse_result(self.api.call("query", params), at_ms)

    def samples(self, expr: str, at_s: float) -> list[tuple[Labels, float]]:
        return rule_samples(expr, self.instant(expr, at_s))

    def range(
        self,
        expr: str,
        start_s: float,
        end_s: float,
        step_s: float,
        *,
        timeout_s: float | None = None,
    ) -> Matrix:
        return self.range_ms(expr, *range_ms(start_s, end_s, step_s), timeout_s=timeout_s)

    def range_ms(
        self,
        expr: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float | None = None,
    ) -> Matrix:
        parse(expr)
        if step_ms <= 0:
            raise QueryParseError(
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer"
            )
        params = [
            ("query", expr),
            ("start", seconds(start_ms)),
            ("end", seconds(end_ms)),
            ("step", seconds(step_ms)),
            *self._timeout(timeout_s),
        ]
        data = self.api.call("query_range", params)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise RemoteQueryError("the remote TSDB answered a range query without a matrix")
        return parse_matrix(data.get("result") or [])

    def close(self) -> None:
        self.api.close()
