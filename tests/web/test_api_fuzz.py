"""Schemathesis fuzzes every operation of the OpenAPI document (``/api/v1/openapi.json``)
against the app served over HTTP on a runtime with SQLite state: no generated input may
cause a server error, with an admin API token or anonymously, and Watchkeeper's own API
answers client mistakes with its one error shape (``{"error": {"code", "message"}}``).

Each operation gets schemathesis' coverage cases (boundary values, missing and wrong
parameters), its Hypothesis cases (valid and invalid, a fixed seed so that a run can be
repeated) and out-of-range integers for every integer parameter. Every problem is
collected, so one run reports them all with the exact request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core import NotSet

from watchkeeper.runtime.app import Runtime

from .conftest import firing_alert, make_full_runtime, role_tokens
from .served import ServedApp

MAX_EXAMPLES = 8  # Hypothesis cases per operation and generation mode
SEED = 20260501
TIMEOUT = 20.0
HUGE_INTEGERS = (2**63, 2**64 + 1, -(2**63) - 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with ServedApp(lambda: make_full_runtime(tmp)) as app:

        async def seed_alert(rt: Runtime) -> None:
            await rt.alerts.put([firing_alert("BackendErrorRateHigh", "backend")])

        app.run(seed_alert)
        yield app


@pytest.fixture(scope="module")
def admin_token(served: ServedApp) -> str:
    return role_tokens(served.rt)["admin"]


@pytest.fixture(scope="module")
def api_schema(served: ServedApp) -> Any:
    return schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")


def describe(case: Case[Any]) -> str:
    body = "" if isinstance(case.body, NotSet) else f" body={case.body!r}"
    query = f"?{urlencode(case.query, doseq=True)}" if case.query else ""
    return f"{case.method.upper()} {case.formatted_path}{query}{body}"


def check_answer(case: Case[Any], response: Any) -> tuple[str, str] | None:
    """(kind of problem, the request and answer) for a bad answer; None when it is fine."""
    if response.status_code >= 500:
        return "server error", f"{response.status_code} for {describe(case)}"
    own_api = case.operation.path.startswith("/api/v1/")
    has_body = case.method.upper() != "HEAD"
    if own_api and has_body and 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            return "error shape", f"{response.status_code} without JSON for {describe(case)}"
        error = body.get("error") if isinstance(body, dict) else None
        if set(body) != {"error"} or not isinstance(error, dict) or not error.get("message"):
            return "error shape", f"{body!r} for {describe(case)}"
    return None


class Fuzzer:
    """Sends each case as the admin and anonymously; keeps the first example of each kind
    of problem per operation and caller."""

    def __init__(self, served: ServedApp, admin_token: str) -> None:
        self.url = served.url
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.session = requests.Session()
        self.problems: dict[str, str] = {}
        self.sent = 0

    def send(self, case: Case[Any], *, anonymous: bool = True) -> None:
        callers = [("admin", self.admin)] + ([("anonymous", {})] if anonymous else [])
        for who, headers in callers:
            answer = case.call(
                base_url=self.url, session=self.session, headers=headers, timeout=TIMEOUT
            )
            self.sent += 1
            problem = check_answer(case, answer)
            if problem is None:
                continue
            key = f"{case.operation.method.upper()} {case.operation.path} ({who}) {problem[0]}"
            self.problems.setdefault(key, problem[1])

    def coverage(self, operation: Any) -> None:
        schema = operation.schema
        config = schema.config.generation_for(operation=operation)
        for case in schema.iter_coverage_cases(
            operation, generation_modes=list(GenerationMode), generation_config=config
        ):
            self.send(case, anonymous=False)  # anonymous callers stop at authentication

    def hypothesis(self, operation: Any) -> None:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @seed(SEED)
        @settings(
            max_examples=MAX_EXAMPLES * 2,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def fuzz(case: Case[Any]) -> None:
            self.send(case)

        fuzz()

    def huge_integers(self, operation: Any) -> None:
        for location, name in integer_parameters(operation):
            for value in HUGE_INTEGERS:
                case = operation.Case()
                if location == "path":
                    case.path_parameters = {p.name: "1" for p in operation.path_parameters} | {
                        name: str(value)
                    }
                else:
                    case.path_parameters = {p.name: "1" for p in operation.path_parameters}
                    case.query = {name: str(value)}
                self.send(case)


def integer_parameters(operation: Any) -> Iterable[tuple[str, str]]:
    for parameter in operation.iter_parameters():
        definition = parameter.definition
        schema = definition.get("schema", {})
        types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
        if "integer" in types and parameter.location in ("path", "query"):
            yield parameter.location, parameter.name


def test_no_generated_request_gets_a_server_error_or_a_stray_error_shape(
    api_schema: Any, served: ServedApp, admin_token: str
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    fuzzer = Fuzzer(served, admin_token)
    for operation in operations:
        fuzzer.coverage(operation)
        fuzzer.hypothesis(operation)
        fuzzer.huge_integers(operation)
    assert fuzzer.sent > 20 * len(operations)
    fuzzer.session.close()
    report = "\n".join(f"{k}: {v}" for k, v in sorted(fuzzer.problems.items()))
    assert not fuzzer.problems, f"{len(fuzzer.problems)} problems:\n{report}"


def test_the_document_describes_the_api_and_not_the_pages(api_schema: Any) -> None:
    paths = {result.ok().path for result in api_schema.get_all_operations()}
    for expected in ("/api/v1/services", "/api/v1/status", "/prometheus/api/v1/query"):
        assert expected in paths
    assert not any(p.startswith(("/alerts", "/silences", "/admin", "/status")) for p in paths)


def test_every_operation_has_its_own_id(served: ServedApp) -> None:
    doc = httpx.get(served.url + "/api/v1/openapi.json", timeout=TIMEOUT).json()
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/readiness/runs?offset={2**63}", None),
        ("GET", f"/api/v1/readiness/runs/{2**63}", None),
        ("GET", f"/api/v1/deliveries/{2**63}", None),
        ("DELETE", f"/api/v1/tokens/{2**63}", None),
        (
            "POST",
            "/api/v1/tokens",
            {"name": "t", "role": "viewer", "expires_in": "99999999999999d"},
        ),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": ['service="backend"'], "duration": "99999999999d", "comment": "c"},
        ),
    ],
)
def test_out_of_range_numbers_are_refused_as_client_errors(
    served: ServedApp, admin_token: str, method: str, path: str, body: object
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    answer = httpx.request(method, served.url + path, json=body, headers=headers, timeout=TIMEOUT)
    assert 400 <= answer.status_code < 500
    assert set(answer.json()) == {"error"}
    # nothing was stored half-way: the lists still answer
    for listing in ("/api/v1/silences", "/api/v1/tokens", "/api/v1/readiness/runs"):
        assert httpx.get(served.url + listing, headers=headers, timeout=TIMEOUT).status_code == 200
