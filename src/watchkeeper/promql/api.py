"""The Prometheus HTTP query API, served under ``/prometheus`` (Grafana Mimir's convention)
so that Grafana and Prometheus clients work unchanged::

    router = build_router(engine, store, rules_provider=manager, alerts_provider=manager)
    app.include_router(router)       # Grafana data source URL: http://host:8080/prometheus

Routes (GET and POST; POST takes form bodies as Prometheus does): ``api/v1/query``,
``query_range``, ``series``, ``labels``, ``label/<name>/values``, ``metadata``,
``query_exemplars`` (always empty), ``status/buildinfo``, ``rules`` and ``alerts``. Every
route requires ``metrics:read``. Responses use Prometheus' envelope
(``{"status": "success", "data": ...}`` or ``{"status": "error", "errorType": ...,
"error": ...}``) and codes: 400 ``bad_data``, 422 ``execution``, 503 ``timeout``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper import __version__
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import QueryError, QueryParseError, WatchkeeperError
from watchkeeper.core.labels import is_valid_label_name
from watchkeeper.promql.api_params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Params,
    first,
    match_sets,
    optional_time,
    parse_duration_s,
    required_time,
)
from watchkeeper.promql.api_views import AlertsProvider, MetadataProvider, RulesProvider
from watchkeeper.promql.protocol import QueryEngine
from watchkeeper.promql.values import Result
from watchkeeper.security.permissions import Permission
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.web.deps import require

PREFIX = "/prometheus"
COMPATIBLE_PROMETHEUS_VERSION = "2.53.0"


def default_build_info() -> dict[str, str]:
    return {
        "version": COMPATIBLE_PROMETHEUS_VERSION,
        "revision": f"watchkeeper-{__version__}",
        "branch": "main",
        "buildUser": "watchkeeper",
        "buildDate": "",
        "goVersion": "",
    }


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


class RawJSON:
    """Data already encoded as JSON text (large query results skip ``json.dumps``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def success(data: Any) -> Response:
    if isinstance(data, RawJSON):
        body = '{"status":"success","data":' + data.text + "}"
        return Response(body, media_type="application/json")
    return _json({"status": "success", "data": data})


def _result(result: Result) -> RawJSON:
    return RawJSON(f'{{"resultType":"{result.result_type}","result":{result.json_text()}}}')


def failure(exc: WatchkeeperError) -> Response:
    if isinstance(exc, QueryError):
        error_type, status = exc.error_type, exc.status_code
    else:
        error_type, status = "bad_data", 400
    return _json({"status": "error", "errorType": error_type, "error": str(exc)}, status)


async def read_params(request: Request) -> dict[str, list[str]]:
    """Form body values first, then URL query values, as Go's ``ParseForm``."""
    params: dict[str, list[str]] = {}
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded") or (
            content_type.startswith("multipart/form-data")
        ):
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, str):
                    params.setdefault(key, []).append(value)
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


class _Api:
    def __init__(
        self,
        engine: QueryEngine,
        store: SeriesStore,
        clock: Clock,
        rules: RulesProvider | None,
        alerts: AlertsProvider | None,
        metadata: MetadataProvider | None,
        build_info: Mapping[str, str],
    ) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.rules_provider = rules
        self.alerts_provider = alerts
        self.metadata_provider = metadata
        self.build_info = dict(build_info)

    def _timeout(self, params: Params) -> float | None:
        text = first(params, "timeout")
        if not text:
            return None
        seconds = parse_duration_s(text, "timeout")
        if seconds <= 0:
            raise QueryParseError('invalid parameter "timeout": must be positive')
        return seconds

    async def query(self, params: Params) -> Any:
        expr = first(params, "query") or ""
        default = round(self.clock.now() * 1000)
        at = optional_time(params, "time", default)
        timeout = self._timeout(params)
        result = await run_in_threadpool(
            self.engine.instant_ms, expr, default if at is None else at, timeout_s=timeout
        )
        return await run_in_threadpool(_result, result)

    async def query_range(self, params: Params) -> Any:
        expr = first(params, "query") or ""
        start = required_time(params, "start")
        end = required_time(params, "end")
        step_text = first(params, "step")
        if not step_text:
            raise QueryParseError('invalid parameter "step": a step is required, e.g. 15s')
        step_s = parse_duration_s(step_text, "step")
        if step_s <= 0:
            raise QueryParseError(
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer"
            )
        timeout = self._timeout(params)
        result = await run_in_threadpool(
            self.engine.range_ms, expr, start, end, round(step_s * 1000), timeout_s=timeout
        )
        return await run_in_threadpool(_result, result)

    def _range(self, params: Params) -> tuple[int | None, int | None]:
        start = optional_time(params, "start", None)
        end = optional_time(params, "end", None)
        if start is not None and start <= MIN_TIME_MS:
            start = None
        if end is not None and end >= MAX_TIME_MS:
            end = None
        if start is not None and end is not None and end < start:
            raise QueryParseError("end timestamp must not be before start time")
        return start, end

    async def series(self, params: Params) -> Any:
        sets = match_sets(params, required=True) or []
        start, end = self._range(params)
        lo = MIN_TIME_MS if start is None else start
        hi = MAX_TIME_MS if end is None else end

        def collect() -> list[dict[str, str]]:
            found = {lab for group in sets for lab in self.store.series(group, lo, hi)}
            return [lab.to_dict() for lab in sorted(found, key=lambda lab: lab.items_tuple)]

        return await run_in_threadpool(collect)

    async def labels(self, params: Params) -> Any:
        sets = match_sets(params, required=False)
        start, end = self._range(params)

        def collect() -> list[str]:
            if sets is None:
                return sorted(self.store.label_names((), start, end))
            names = {n for group in sets for n in self.store.label_names(group, start, end)}
            return sorted(names)

        return await run_in_threadpool(collect)

    async def label_values(self, name: str, params: Params) -> Any:
        if not is_valid_label_name(name):
            raise QueryParseError(f"invalid label name: {name!r}")
        sets = match_sets(params, required=False)
        start, end = self._range(params)

        def collect() -> list[str]:
            if sets is None:
                return sorted(self.store.label_values(name, (), start, end))
            found = {v for group in sets for v in self.store.label_values(name, group, start, end)}
            return sorted(found)

        return await run_in_threadpool(collect)

    async def metadata(self, params: Params) -> Any:
        if self.metadata_provider is None:
            return {}
        wanted = first(params, "metric")
        limit = _int_param(params, "limit")
        per_metric = _int_param(params, "limit_per_metric")
        out: dict[str, list[dict[str, str]]] = {}
        for metric, entries in sorted(self.metadata_provider.metadata().items()):
            if wanted and metric != wanted:
                continue
            if 0 <= limit <= len(out):
                break
            listed = [e.to_json() for e in entries]
            out[metric] = listed[:per_metric] if per_metric > 0 else listed
        return out

    async def rules(self, params: Params) -> Any:
        if self.rules_provider is None:
            return {"groups": []}
        kind = first(params, "type")
        if kind not in (None, "", "alert", "record"):
            raise QueryParseError('invalid parameter "type": use alert or record')
        names = set(params.get("rule_name[]") or [])
        groups_wanted = set(params.get("rule_group[]") or [])
        files = set(params.get("file[]") or [])
        with_alerts = first(params, "exclude_alerts") not in ("true", "1")
        out = []
        for group in self.rules_provider.rule_groups():
            if groups_wanted and group.name not in groups_wanted:
                continue
            if files and group.file not in files:
                continue
            picked = [
                r
                for r in group.rules
                if (not kind or (r.type == "alerting") == (kind == "alert"))
                and (not names or r.name in names)
            ]
            if (kind or names) and not picked:
                continue
            out.append(group.to_json(picked, with_alerts=with_alerts))
        return {"groups": out}

    async def alerts_list(self, params: Params) -> Any:
        if self.alerts_provider is None:
            return {"alerts": []}
        return {"alerts": [a.to_json() for a in self.alerts_provider.alerts()]}


Handler = Callable[[Params], Any]


def _int_param(params: Params, name: str) -> int:
    """A non-negative integer parameter; -1 when absent."""
    text = first(params, name)
    if not text:
        return -1
    try:
        return int(text)
    except ValueError:
        raise QueryParseError(f'invalid parameter "{name}": {text!r} is not an integer') from None


def build_router(
    engine: QueryEngine,
    store: SeriesStore,
    *,
    clock: Clock | None = None,
    rules_provider: RulesProvider | None = None,
    alerts_provider: AlertsProvider | None = None,
    metadata_provider: MetadataProvider | None = None,
    build_info: Mapping[str, str] | None = None,
    prefix: str = PREFIX,
) -> APIRouter:
    """The query API as a FastAPI router (see the module docstring)."""
    api = _Api(
        engine,
        store,
        clock or engine.clock,
        rules_provider,
        alerts_provider,
        metadata_provider,
        build_info or default_build_info(),
    )
    router = APIRouter(prefix=prefix, tags=["prometheus"])
    guard = [Depends(require(Permission.METRICS_READ))]

    def route(path: str, handler: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            try:
                return success(await handler(await read_params(request)))
            except WatchkeeperError as exc:
                return failure(exc)

        name = "prometheus_" + path.strip("/").replace("/", "_")
        endpoint.__name__ = name
        for method in ("GET", "POST"):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                operation_id=f"{name}_{method.lower()}",
                dependencies=guard,
                include_in_schema=True,
                response_class=Response,
            )

    route("/api/v1/query", api.query)
    route("/api/v1/query_range", api.query_range)
    route("/api/v1/series", api.series)
    route("/api/v1/labels", api.labels)
    route("/api/v1/metadata", api.metadata)
    route("/api/v1/rules", api.rules)
    route("/api/v1/alerts", api.alerts_list)

    async def exemplars(params: Params) -> Any:
        return []

    route("/api/v1/query_exemplars", exemplars)

    async def buildinfo(params: Params) -> Any:
        return api.build_info

    route("/api/v1/status/buildinfo", buildinfo)

    async def label_values(request: Request, name: str) -> Response:
        try:
            return success(await api.label_values(name, await read_params(request)))
        except WatchkeeperError as exc:
            return failure(exc)

    for method in ("GET", "POST"):
        router.add_api_route(
            "/api/v1/label/{name}/values",
            label_values,
            methods=[method],
            operation_id=f"prometheus_label_values_{method.lower()}",
            dependencies=guard,
            response_class=Response,
        )
    return router
