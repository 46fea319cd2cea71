"""The http check against real loopback servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from watchkeeper.collect.base import CollectFailure
from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.core.enums import CheckStatus
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.targets import FakeTarget

from .support import RecordingStore, run_check, self_signed_cert


def check(url: str, **fields: object) -> HttpCheckConfig:
    return HttpCheckConfig.model_validate({"type": "http", "name": "probe", "url": url, **fields})


async def test_healthy_endpoint_writes_probe_series_and_status_detail(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(check(target_server.url + "/health"), store, http_client)
    assert status.status is CheckStatus.UP
    assert status.error is None
    assert status.detail["status_code"] == 200
    assert status.detail["latency_ms"] > 0
    assert store.latest("probe_success") == 1.0
    assert store.latest("probe_http_status_code") == 200.0
    assert store.latest("probe_http_ssl") == 0.0
    assert store.latest("probe_failed_due_to_regex") == 0.0
    assert store.latest("probe_duration_seconds") > 0
    assert store.latest("up") == 1.0
    labels = next(lbls for lbls, _, _ in store.samples if lbls.name == "probe_success")
    assert labels["instance"] == target_server.url + "/health"
    assert labels["job"] == "backend"


async def test_unexpected_status_fails_with_the_code_in_the_error(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.fail_with(503)
    status = await run_check(check(target_server.url + "/health"), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.up is True
    assert status.reason is CollectFailure.HTTP_STATUS
    assert status.error == f"GET {target_server.url}/health: status 503, expected 2xx"
    assert store.latest("probe_success") == 0.0
    assert store.latest("probe_http_status_code") == 503.0


async def test_expected_status_list_accepts_a_non_2xx_code(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.fail_with(418)
    cfg = check(target_server.url + "/health", expected_status=[418])
    status = await run_check(cfg, store, http_client)
    assert status.status is CheckStatus.UP


async def test_body_assertions_report_each_failure(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cfg = check(
        target_server.url + "/health",
        body_assertions={
            "contains": ["ok", "missing-word"],
            "not_contains": ["status"],
            "regex": [r'"db":\s*true', r"^nope"],
        },
    )
    status = await run_check(cfg, store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.ASSERTION
    assert status.error is not None
    assert "body does not contain 'missing-word'" in status.error
    assert "body contains 'status'" in status.error
    assert "body does not match regex '^nope'" in status.error
    assert "db" not in status.error.split(":", 2)[-1].split(";")[0]
    assert store.latest("probe_failed_due_to_regex") == 1.0


async def test_json_path_assertions(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    url = target_server.url + "/health"
    good = check(url, body_assertions={"json_path": {"status": "ok", "checks.db": True}})
    assert (await run_check(good, store, http_client)).status is CheckStatus.UP
    fake_target.set_health({"status": "degraded", "checks": {"db": 1}, "items": [{"n": 2}]})
    bad = check(
        url,
        body_assertions={
            "json_path": {"status": "ok", "checks.db": True, "items.0.n": 2.0, "nope.x": 1}
        },
    )
    status = await run_check(bad, store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.error is not None
    assert 'JSON path \'status\' is "degraded", expected "ok"' in status.error
    assert "JSON path 'checks.db' is 1, expected true" in status.error
    assert "items.0.n" not in status.error
    assert "JSON path 'nope.x' not found" in status.error
    assert store.latest("probe_failed_due_to_json_path") == 1.0


async def test_max_latency_fails_a_slow_answer(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_latency(0.3)
    status = await run_check(
        check(target_server.url + "/health", max_latency="100ms"), store, http_client
    )
    assert status.status is CheckStatus.DOWN
    assert status.error is not None
    assert "above max_latency 100 ms" in status.error
    assert store.latest("probe_failed_due_to_latency") == 1.0


async def test_timeout_reports_the_probe_failed(
    fake_target: FakeTarget,
    target_server: FakeServer,
    store: RecordingStore,
    http_client: httpx.AsyncClient,
) -> None:
    fake_target.set_latency(2.0)
    status = await run_check(check(target_server.url + "/health"), store, http_client, timeout=0.3)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.TIMEOUT
    assert store.latest("probe_success") == 0.0


async def test_unreachable_target_is_down_with_connection_reason(
    store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    status = await run_check(check(url), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.CONNECTION
    assert status.error is not None
    assert status.error.startswith(f"cannot connect to {url}")
    assert store.latest("probe_success") == 0.0


async def test_redirects_followed_or_reported(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    url = target_server.url + "/redirect"
    followed = await run_check(check(url), store, http_client)
    assert followed.status is CheckStatus.UP
    assert followed.detail["redirects"] == 1
    assert followed.detail["final_url"] == target_server.url + "/health"
    assert store.latest("probe_http_redirects") == 1.0
    not_followed = await run_check(check(url, follow_redirects=False), store, http_client)
    assert not_followed.status is CheckStatus.DOWN
    assert not_followed.detail["status_code"] == 302
    expect_302 = check(url, follow_redirects=False, expected_status=[302])
    assert (await run_check(expect_302, store, http_client)).status is CheckStatus.UP


async def test_redirect_loop_is_reported_not_raised(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    status = await run_check(check(target_server.url + "/redirect-loop"), store, http_client)
    assert status.status is CheckStatus.DOWN
    assert status.error is not None
    assert "too many redirects" in status.error


async def test_method_headers_body_and_bearer_token_are_sent(
    target_server: FakeServer, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cfg = check(
        target_server.url + "/echo",
        method="POST",
        headers={"X-Probe": "yes"},
        body='{"q": 1}',
        bearer_token="s3cret",
        body_assertions={"json_path": {"method": "POST", "body": '{"q": 1}'}},
    )
    status = await run_check(cfg, store, http_client)
    assert status.status is CheckStatus.UP, status.error
    sent = target_server.requests[-1]
    assert sent.headers["x-probe"] == "yes"
    assert sent.headers["authorization"] == "Bearer s3cret"


async def test_tls_certificate_expiry_is_read_and_near_expiry_warned(
    tmp_path: Path, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    cert, key = self_signed_cert(tmp_path, not_after=not_after)
    target = FakeTarget()
    with target.serve(ssl_certfile=cert, ssl_keyfile=key) as server:
        assert server.url.startswith("https://")
        cfg = check(server.url + "/health", ca_file=cert)
        status = await run_check(cfg, store, http_client)
    assert status.status is CheckStatus.UP, status.error
    assert store.latest("probe_ssl_earliest_cert_expiry") == not_after.timestamp()
    assert store.latest("probe_http_ssl") == 1.0
    assert status.detail["tls_warning"] == "the TLS certificate expires in 5.0 days"
    assert 4.9 < status.detail["tls_days_left"] <= 5.0


async def test_untrusted_certificate_fails_with_tls_reason_unless_verification_is_off(
    tmp_path: Path, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cert, key = self_signed_cert(tmp_path, not_after=datetime.now(UTC) + timedelta(days=90))
    target = FakeTarget()
    with target.serve(ssl_certfile=cert, ssl_keyfile=key) as server:
        strict = await run_check(check(server.url + "/health"), store, http_client)
        relaxed = await run_check(
            check(server.url + "/health", verify_tls=False), store, http_client
        )
    assert strict.status is CheckStatus.DOWN
    assert strict.reason is CollectFailure.TLS
    assert strict.error is not None
    assert "TLS handshake" in strict.error
    assert relaxed.status is CheckStatus.UP
    assert "tls_warning" not in relaxed.detail


async def test_expired_certificate_fails_even_without_verification(
    tmp_path: Path, store: RecordingStore, http_client: httpx.AsyncClient
) -> None:
    cert, key = self_signed_cert(tmp_path, not_after=datetime.now(UTC) - timedelta(days=1))
    target = FakeTarget()
    with target.serve(ssl_certfile=cert, ssl_keyfile=key) as server:
        status = await run_check(
            check(server.url + "/health", verify_tls=False), store, http_client
        )
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.TLS
    assert status.error is not None
    assert "the TLS certificate has expired" in status.error
