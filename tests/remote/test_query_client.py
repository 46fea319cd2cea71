"""The remote PromQL client: result types, the errors a remote can answer, and what an
unreachable one looks like (a scripted Prometheus-like server on loopback)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import QueryError, QueryParseError, QueryTimeoutError
from watchkeeper.core.labels import Labels, Matcher
from watchkeeper.promql import Engine, Matrix, Scalar, String, Vector
from watchkeeper.remote.config import RemoteQueryConfig
from watchkeeper.remote.errors import RemoteQueryError
from watchkeeper.remote.query import QueryEngine, RemotePromQL, seconds
from watchkeeper.remote.reader import RemoteSeriesReader, selector
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.tsdb.embedded import EmbeddedStore


class Scripted:
    def __init__(self) -> None:
        self.next: tuple[int, Any] = (200, {"status": "success", "data": None})
        self.forms: list[dict[str, list[str]]] = []
        self.headers: list[dict[str, str]] = []
        self.app = FastAPI()

        @self.app.post("/api/v1/{path:path}")
        async def answer(path: str, request: Request) -> Response:
            form = await request.form()
            self.forms.append({k: [str(v) for v in form.getlist(k)] for k in form})
            self.headers.append(dict(request.headers))
            status, body = self.next
            if body == "sleep":
                time.sleep(1.5)
                body = {"status": "success", "data": []}
            if isinstance(body, str):
                return Response(body, status_code=status, media_type="text/html")
            return JSONResponse(body, status_code=status)


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, FakeServer]]:
    s = Scripted()
    with FakeServer(s.app) as server:
        yield s, server


@pytest.fixture
def client(scripted: tuple[Scripted, FakeServer]) -> Iterator[RemotePromQL]:
    engine = RemotePromQL(
        scripted[1].url,
        clock=FakeClock(),
        config=RemoteQueryConfig.model_validate({"timeout": "1s", "bearer_token": "q-token"}),
    )
    yield engine
    engine.close()


def success(data: Any) -> tuple[int, Any]:
    return 200, {"status": "success", "data": data}


def test_both_engines_fit_the_query_engine_protocol() -> None:
    clock = FakeClock()
    embedded: QueryEngine = Engine(EmbeddedStore.memory(clock=clock), clock=clock)
    remote: QueryEngine = RemotePromQL("http://127.0.0.1:9", clock=clock)
    reader: SeriesStore = RemoteSeriesReader(RemotePromQL("http://127.0.0.1:9", clock=clock).api)
    assert {type(embedded).__name__, type(remote).__name__} == {"Engine", "RemotePromQL"}
    assert type(reader).__name__ == "RemoteSeriesReader"


def test_vectors_scalars_strings_and_matrices_become_watchkeeper_results(
    scripted: tuple[Scripted, FakeServer], client: RemotePromQL
) -> None:
    remote, _ = scripted
    remote.next = success(
        {
            "resultType": "vector",
            "result": [
                {"metric": {"__name__": "up", "job": "a"}, "value": [1700000000.5, "1"]},
                {"metric": {"job": "b"}, "value": [1700000000.5, "NaN"]},
                {"metric": {"job": "c"}, "value": [1700000000.5, "+Inf"]},
            ],
        }
    )
    vector = client.instant("up", 1700000000.5)
    assert isinstance(vector, Vector)
    assert vector[0].labels == Labels({"__name__": "up", "job": "a"})
    assert vector[0].timestamp_ms == 1_700_000_000_500
    assert math.isnan(vector[1].value)
    assert vector[2].value == math.inf
    assert remote.forms[-1] == {"query": ["up"], "time": ["1700000000.500"]}
    assert remote.headers[-1]["authorization"] == "Bearer q-token"

    remote.next = success({"resultType": "scalar", "result": [1700000000, "42"]})
    assert client.instant("42", 1700000000) == Scalar(42.0, 1_700_000_000_000)
    assert client.samples("42", 1700000000) == [(Labels(), 42.0)]

    remote.next = success({"resultType": "string", "result": [1700000000, "hi"]})
    assert client.instant('"hi"', 1700000000) == String("hi", 1_700_000_000_000)
    with pytest.raises(QueryError, match="rules need an instant vector or a scalar"):
        client.samples('"hi"', 1700000000)

    remote.next = success(
        {
            "resultType": "matrix",
            "result": [
                {"metric": {"job": "z"}, "values": [[1, "1"], [2, "2"]]},
                {"metric": {"job": "y"}, "values": [[1, "3"]]},
            ],
        }
    )
    matrix = client.range("up", 1, 2, 1)
    assert isinstance(matrix, Matrix)
    assert [s.labels["job"] for s in matrix] == ["y", "z"]
    assert matrix[1].points() == [(1000, 1.0), (2000, 2.0)]
    assert remote.forms[-1]["step"] == ["1.000"]


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (400, {"status": "error", "errorType": "bad_data", "error": "bad"}, QueryParseError, "bad"),
        (
            503,
            {"status": "error", "errorType": "timeout", "error": "slow"},
            QueryTimeoutError,
            "slow",
        ),
        (422, {"status": "error", "errorType": "execution", "error": "dup"}, QueryError, "dup"),
        (503, {"status": "error", "errorType": "unavailable", "error": "x"}, RemoteQueryError, "x"),
        (502, "<html>bad gateway</html>", RemoteQueryError, "HTTP 502 without a Prometheus"),
        (404, "404 page not found", RemoteQueryError, "/api/v1/query is served"),
    ],
)
def test_remote_errors_become_the_engines_exceptions(
    scripted: tuple[Scripted, FakeServer],
    client: RemotePromQL,
    status: int,
    body: Any,
    error: type[Exception],
    words: str,
) -> None:
    scripted[0].next = (status, body)
    with pytest.raises(error, match=words) as info:
        client.instant("up", 1)
    assert type(info.value) is error
    assert "q-token" not in str(info.value)


def test_a_parse_error_is_found_here_without_asking_the_remote(
    scripted: tuple[Scripted, FakeServer], client: RemotePromQL
) -> None:
    with pytest.raises(QueryParseError):
        client.instant("sum((", 1)
    assert scripted[0].forms == []


def test_a_range_that_is_not_finite_is_refused_here_like_the_embedded_engine(
    scripted: tuple[Scripted, FakeServer], client: RemotePromQL
) -> None:
    with pytest.raises(QueryParseError, match="invalid end inf"):
        client.range("up", 0, float("inf"), 15)
    assert scripted[0].forms == []


def test_an_unreachable_remote_is_unavailable_and_names_the_setting() -> None:
    engine = RemotePromQL(f"http://127.0.0.1:{free_port()}", clock=FakeClock())
    with pytest.raises(RemoteQueryError, match=r"cannot reach .*storage\.query_url") as info:
        engine.instant("up", 1)
    assert info.value.status_code == 503
    engine.close()


def test_a_slow_remote_times_out_with_the_configured_timeout(
    scripted: tuple[Scripted, FakeServer], client: RemotePromQL
) -> None:
    scripted[0].next = (200, "sleep")
    with pytest.raises(RemoteQueryError, match=r"did not answer in 1s \(storage.query.timeout\)"):
        client.instant("up", 1)


def test_the_reader_sends_selectors_and_ranges(
    scripted: tuple[Scripted, FakeServer], client: RemotePromQL
) -> None:
    remote, _ = scripted
    reader = RemoteSeriesReader(client.api)
    remote.next = success([{"__name__": "up", "job": "b"}, {"__name__": "up", "job": "a"}])
    found = reader.series([Matcher.equal("__name__", "up")], 1000, 2000)
    assert [lab["job"] for lab in found] == ["a", "b"]
    assert remote.forms[-1] == {
        "match[]": ['{__name__="up"}'],
        "start": ["1.000"],
        "end": ["2.000"],
    }
    remote.next = success(["job", "__name__"])
    assert reader.label_names() == ["__name__", "job"]
    remote.next = success(
        {"resultType": "matrix", "result": [{"metric": {"job": "a"}, "values": [[1, "5"]]}]}
    )
    (data,) = reader.select([Matcher.equal("job", "a")], 0, 1000)
    assert remote.forms[-1]["query"] == ['{job="a"}[1001ms]']
    assert data.values.tolist() == [5.0]


def test_selectors_and_seconds_are_exact() -> None:
    assert selector([]) == '{__name__=~".+"}'
    assert seconds(1_700_000_000_001) == "1700000000.001"
    assert seconds(-1500) == "-1.500"


def test_the_client_is_usable_through_the_http_transport_seam() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector",
                                                                       "result": []}})  # fmt: skip

    engine = RemotePromQL("http://tsdb", clock=FakeClock(), transport=httpx.MockTransport(handler))
    assert engine.samples("up", 1) == []
    engine.close()
