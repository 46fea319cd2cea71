"""The Prometheus query API over real HTTP: the prometheus-api-client package and the
requests Grafana's Prometheus data source makes, against the router served by uvicorn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_api_client import PrometheusConnect

from watchkeeper.core.clock import FakeClock
from watchkeeper.promql import Engine
from watchkeeper.promql.api import build_router
from watchkeeper.promql.api_views import (
    AlertView,
    MetricMetadata,
    RuleGroupView,
    RuleHealthView,
    RuleType,
    RuleView,
)
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.testing.server import FakeServer
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.tsdb.embedded import EmbeddedStore
from watchkeeper.web.deps import Principal, PrincipalKind

from .support import load, series

NOW = 3600.0
VIEWER = Principal("viewer", PrincipalKind.USER, Role.VIEWER, frozenset({Permission.METRICS_READ}))


class SteppingClock(FakeClock):
    """A clock whose monotonic time jumps an hour on every read: any query times out."""

    def monotonic(self) -> float:
        self._now += 3600
        return super().monotonic()


class Rules:
    def rule_groups(self) -> list[RuleGroupView]:
        alert = AlertView(
            labels={"alertname": "HighErrors", "severity": "page"},
            annotations={"summary": "errors"},
            state="firing",
            active_at=NOW - 60,
            value=0.25,
        )
        return [
            RuleGroupView(
                name="api",
                file="rules/api.yml",
                interval_s=15,
                rules=[
                    RuleView(
                        name="HighErrors",
                        query="errors > 0.1",
                        type=RuleType.ALERTING,
                        duration_s=60,
                        state="firing",
                        alerts=[alert],
                        health=RuleHealthView.OK,
                        last_evaluation=NOW,
                    ),
                    RuleView(name="job:errors:rate5m", query="x", type=RuleType.RECORDING),
                ],
                last_evaluation=NOW,
            )
        ]

    def alerts(self) -> list[AlertView]:
        return list(self.rule_groups()[0].rules[0].alerts)


class Metadata:
    def metadata(self) -> dict[str, list[MetricMetadata]]:
        return {"http_requests_total": [MetricMetadata("counter", "Requests served.")]}


def make_app(engine: Engine, store: SeriesStore, principal: Principal | None) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def authenticate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if principal is not None:
            request.state.principal = principal
        return await call_next(request)

    rules = Rules()
    app.include_router(
        build_router(
            engine,
            store,
            rules_provider=rules,
            alerts_provider=rules,
            metadata_provider=Metadata(),
        )
    )
    return app


@pytest.fixture(scope="module")
def loaded() -> Iterator[SeriesStore]:
    store = EmbeddedStore.memory(clock=FakeClock(0.0))
    for job, instance, rate in (("api", "a", 1.0), ("api", "b", 2.0), ("web", "a", 4.0)):
        labels = series("http_requests_total", job=job, instance=instance)
        load(store, labels, [i * 60 * rate for i in range(61)], step_s=60)
    load(store, series("up", job="api"), [1.0] * 61, step_s=60)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def server(loaded: SeriesStore) -> Iterator[FakeServer]:
    engine = Engine(loaded, clock=FakeClock(NOW))
    with FakeServer(make_app(engine, loaded, VIEWER)) as srv:
        yield srv


@pytest.fixture
def prom(server: FakeServer) -> Iterator[PrometheusConnect]:
    client = PrometheusConnect(url=server.url + "/prometheus", disable_ssl=True)
    try:
        yield client
    finally:
        client.close()


def test_client_instant_query_returns_vector(prom: PrometheusConnect) -> None:
    result = prom.custom_query("sum by (job) (rate(http_requests_total[5m]))", params={"time": NOW})
    got = {r["metric"]["job"]: float(r["value"][1]) for r in result}
    assert got == {"api": pytest.approx(3.0), "web": pytest.approx(4.0)}
    assert all(r["value"][0] == NOW for r in result)


def test_client_range_query_returns_matrix(prom: PrometheusConnect) -> None:
    start = datetime.fromtimestamp(NOW - 600, tz=UTC)
    end = datetime.fromtimestamp(NOW, tz=UTC)
    result = prom.custom_query_range('rate(http_requests_total{job="web"}[5m])', start, end, "60")
    assert len(result) == 1
    assert result[0]["metric"] == {"instance": "a", "job": "web"}
    assert [v[0] for v in result[0]["values"]] == [NOW - 600 + 60 * i for i in range(11)]
    assert [float(v[1]) for v in result[0]["values"]] == pytest.approx([4.0] * 11)


def test_client_lists_metrics_labels_and_values(prom: PrometheusConnect) -> None:
    assert prom.all_metrics() == ["http_requests_total", "up"]
    assert prom.get_label_names() == ["__name__", "instance", "job"]
    assert prom.get_label_values("job") == ["api", "web"]


def test_client_reads_series_and_metadata(prom: PrometheusConnect) -> None:
    found = prom.get_series(
        datetime.fromtimestamp(0, tz=UTC),
        datetime.fromtimestamp(NOW, tz=UTC),
        params={"match[]": 'http_requests_total{job="api"}'},
    )
    assert found == [
        {"__name__": "http_requests_total", "instance": "a", "job": "api"},
        {"__name__": "http_requests_total", "instance": "b", "job": "api"},
    ]
    assert prom.get_metric_metadata("http_requests_total") == [
        {
            "metric_name": "http_requests_total",
            "type": "counter",
            "help": "Requests served.",
            "unit": "",
        }
    ]


def test_client_post_method_queries(server: FakeServer) -> None:
    client = PrometheusConnect(url=server.url + "/prometheus", method="POST")
    try:
        result = client.custom_query("up", params={"time": NOW})
    finally:
        client.close()
    assert result == [{"metric": {"__name__": "up", "job": "api"}, "value": [NOW, "1"]}]


def test_grafana_buildinfo_reports_a_prometheus_version(server: FakeServer) -> None:
    body = httpx.get(server.url + "/prometheus/api/v1/status/buildinfo").json()
    assert body["status"] == "success"
    major, minor, _ = body["data"]["version"].split(".")
    assert (int(major), int(minor)) >= (2, 40)


def test_grafana_form_post_query_range_gets_matrix(server: FakeServer) -> None:
    response = httpx.post(
        server.url + "/prometheus/api/v1/query_range",
        data={
            "query": "sum by (job) (rate(http_requests_total[5m]))",
            "start": str(NOW - 300),
            "end": str(NOW),
            "step": "60s",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()["data"]
    assert data["resultType"] == "matrix"
    for item in data["result"]:
        assert set(item) == {"metric", "values"}
        assert all(isinstance(t, int | float) and isinstance(v, str) for t, v in item["values"])
    assert [item["metric"] for item in data["result"]] == [{"job": "api"}, {"job": "web"}]


def test_grafana_label_values_with_time_range_and_match(server: FakeServer) -> None:
    response = httpx.get(
        server.url + "/prometheus/api/v1/label/__name__/values",
        params={"start": "0", "end": str(NOW), "match[]": '{job="api"}'},
    )
    assert response.json() == {"status": "success", "data": ["http_requests_total", "up"]}


def test_rfc3339_times_are_accepted(server: FakeServer) -> None:
    response = httpx.get(
        server.url + "/prometheus/api/v1/query",
        params={"query": "up", "time": "1970-01-01T01:00:00.000Z"},
    )
    assert response.json()["data"]["result"][0]["value"] == [NOW, "1"]


def test_scalar_and_string_results(server: FakeServer) -> None:
    url = server.url + "/prometheus/api/v1/query"
    assert httpx.get(url, params={"query": "1 + 1", "time": "10"}).json()["data"] == {
        "resultType": "scalar",
        "result": [10, "2"],
    }
    assert httpx.get(url, params={"query": '"hi"', "time": "10"}).json()["data"] == {
        "resultType": "string",
        "result": [10, "hi"],
    }


def test_bad_query_is_400_bad_data(server: FakeServer) -> None:
    response = httpx.get(server.url + "/prometheus/api/v1/query", params={"query": "sum("})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["errorType"] == "bad_data"
    assert "sum(" in body["error"]


def test_bad_time_parameter_names_the_parameter(server: FakeServer) -> None:
    response = httpx.get(
        server.url + "/prometheus/api/v1/query_range",
        params={"query": "up", "start": "yesterday", "end": "10", "step": "15"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "invalid parameter \"start\": cannot parse 'yesterday' to a valid timestamp"
    )


def test_range_query_rejects_negative_step(server: FakeServer) -> None:
    response = httpx.get(
        server.url + "/prometheus/api/v1/query_range",
        params={"query": "up", "start": "0", "end": "10", "step": "-1"},
    )
    assert response.status_code == 400
    assert "step" in response.json()["error"]


def test_evaluation_error_is_422_execution(server: FakeServer) -> None:
    response = httpx.get(
        server.url + "/prometheus/api/v1/query",
        params={"query": "up + on(job) http_requests_total", "time": str(NOW)},
    )
    assert response.status_code == 422
    assert response.json()["errorType"] == "execution"
    assert "many-to-many matching not allowed" in response.json()["error"]


def test_sample_limit_is_422_with_clear_message(loaded: SeriesStore) -> None:
    engine = Engine(loaded, clock=FakeClock(NOW), max_samples=10)
    with FakeServer(make_app(engine, loaded, VIEWER)) as srv:
        response = httpx.get(
            srv.url + "/prometheus/api/v1/query",
            params={"query": "http_requests_total[1h]", "time": str(NOW)},
        )
    assert response.status_code == 422
    assert response.json()["errorType"] == "execution"
    assert "too many samples" in response.json()["error"]


def test_query_timeout_is_503_timeout(loaded: SeriesStore) -> None:
    engine = Engine(loaded, clock=SteppingClock(NOW), timeout_s=5)
    with FakeServer(make_app(engine, loaded, VIEWER)) as srv:
        response = httpx.get(srv.url + "/prometheus/api/v1/query", params={"query": "up"})
    assert response.status_code == 503
    assert response.json()["errorType"] == "timeout"


def test_series_requires_match(server: FakeServer) -> None:
    response = httpx.get(server.url + "/prometheus/api/v1/series")
    assert response.status_code == 400
    assert "match[]" in response.json()["error"]


def test_invalid_label_name_is_bad_data(server: FakeServer) -> None:
    response = httpx.get(server.url + "/prometheus/api/v1/label/not-a-label/values")
    assert response.status_code == 400


def test_rules_and_alerts_have_prometheus_shape(server: FakeServer) -> None:
    rules = httpx.get(server.url + "/prometheus/api/v1/rules").json()["data"]["groups"]
    assert rules[0]["name"] == "api"
    assert rules[0]["interval"] == 15
    alerting = rules[0]["rules"][0]
    assert alerting["type"] == "alerting"
    assert alerting["state"] == "firing"
    assert alerting["duration"] == 60
    assert alerting["alerts"][0]["value"] == "2.5e-01"
    assert alerting["alerts"][0]["activeAt"] == "1970-01-01T00:59:00.000Z"
    only_recording = httpx.get(
        server.url + "/prometheus/api/v1/rules", params={"type": "record"}
    ).json()["data"]["groups"][0]["rules"]
    assert [r["type"] for r in only_recording] == ["recording"]
    alerts = httpx.get(server.url + "/prometheus/api/v1/alerts").json()["data"]["alerts"]
    assert alerts[0]["labels"]["alertname"] == "HighErrors"
    assert alerts[0]["state"] == "firing"


def test_routes_require_metrics_read(loaded: SeriesStore) -> None:
    engine = Engine(loaded, clock=FakeClock(NOW))
    with FakeServer(make_app(engine, loaded, None)) as srv:
        response = httpx.get(srv.url + "/prometheus/api/v1/query", params={"query": "up"})
        assert response.status_code == 401
        other = Principal("x", PrincipalKind.USER, None, frozenset({Permission.STATUS_READ}))
    with FakeServer(make_app(engine, loaded, other)) as srv:
        response = httpx.get(srv.url + "/prometheus/api/v1/labels")
        assert response.status_code == 403


def test_every_route_declares_the_permission(store: SeriesStore) -> None:
    router = build_router(Engine(store, clock=FakeClock(NOW)), store)
    for route in router.routes:
        deps = [d.dependency for d in getattr(route, "dependencies", [])]
        permissions = [getattr(d, "permission", None) for d in deps]
        assert Permission.METRICS_READ in permissions, route


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/query", {"query": "up", "time": "1e300"}),
        ("/api/v1/query", {"query": "up", "timeout": "soon"}),
        ("/api/v1/query", {"query": "max_over_time(up[1000y:1ms])", "time": str(NOW)}),
        ("/api/v1/query_range", {"query": "up", "start": "0", "end": "1e9", "step": "1"}),
        ("/api/v1/query_range", {"query": "up", "start": "10", "end": "0", "step": "1"}),
        ("/api/v1/query_range", {"query": "up", "start": "0", "end": "10"}),
        ("/api/v1/query_range", {"query": "up[5m]", "start": "0", "end": "10", "step": "1"}),
        ("/api/v1/series", {"match[]": "rate(up[5m])"}),
        ("/api/v1/labels", {"match[]": "up", "start": "x"}),
        ("/api/v1/metadata", {"limit": "many"}),
        ("/api/v1/rules", {"type": "both"}),
    ],
)
def test_client_mistakes_are_4xx_with_a_message(
    server: FakeServer, path: str, params: dict[str, str]
) -> None:
    response = httpx.get(server.url + "/prometheus" + path, params=params, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]
