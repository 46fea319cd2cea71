"""Alerting readiness: rules watch every service, routes end at receivers with channels,
test notifications are delivered (or rejected), escalation reaches a human in time, and
no silence mutes everything."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper.alerting.silences import Silence, Silences
from watchkeeper.core.labels import Matcher, MatchOp
from watchkeeper.readiness.check import RunOptions
from watchkeeper.readiness.checks.alerting_coverage import RulesCoverServices
from watchkeeper.readiness.checks.alerting_escalation import EscalationPolicies
from watchkeeper.readiness.checks.alerting_notifications import DeliversTestNotifications
from watchkeeper.readiness.checks.alerting_routes import RoutesReachReceivers
from watchkeeper.readiness.checks.alerting_ruletests import RuleUnitTests
from watchkeeper.readiness.checks.alerting_silences import NoCatchAllSilence
from watchkeeper.readiness.model import Status
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.webhook_sink import WebhookSink

from .apps import AppState, service_app
from .support import one, write_config


@pytest.fixture
def app() -> Iterator[FakeServer]:
    with FakeServer(service_app(AppState())) as server:
        yield server


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as s:
        yield s


def services(app: FakeServer, *, packs: str = "[http]", api_packs: str = "[]") -> str:
    return (
        "services:\n"
        f"  - name: web\n    rule_packs: {packs}\n    checks:\n"
        f"      - {{type: http, url: '{app.url}/health'}}\n"
        f"  - name: api\n    rule_packs: {api_packs}\n    checks:\n"
        f"      - {{type: scrape, url: '{app.url}/metrics'}}\n"
    )


def alerting(sink_url: str, *, extra_receiver: str = "", policy: str = "") -> str:
    return (
        "alerting:\n"
        "  route: {receiver: oncall" + (", escalation_policy: main" if policy else "") + "}\n"
        "  receivers:\n"
        f"    - {{name: oncall, webhook_configs: [{{url: '{sink_url}/oncall'}}]}}\n"
        f"    - {{name: leads, webhook_configs: [{{url: '{sink_url}/leads'}}]}}\n"
        + extra_receiver
        + policy
    )


async def test_every_service_watched_by_rules_passes(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app, api_packs="[scrape]") + alerting(sink.url))
    result = await one(loaded, RulesCoverServices)
    assert result.status is Status.PASS, result.evidence
    by_service = {d.subject: d for d in result.details}
    assert "ProbeFailing" in by_service["web"].evidence
    assert by_service["api"].evidence.startswith("1 alert rules (TargetDown")


async def test_a_service_no_rule_watches_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    rules = tmp_path / "web.yml"
    rules.write_text(
        "groups:\n  - name: web\n    rules:\n      - alert: WebDown\n"
        '        expr: up{service="web"} == 0\n        labels: {severity: critical}\n',
        encoding="utf-8",
    )
    body = services(app, packs="[]") + "rule_files: [web.yml]\n" + alerting(sink.url)
    result = await one(write_config(tmp_path, body), RulesCoverServices)
    assert result.status is Status.FAIL
    assert "api: no alert rule watches its series; try rule_packs: [scrape]" in result.evidence
    assert {d.subject: d.status for d in result.details}["web"] is Status.PASS


async def test_rules_routed_to_a_receiver_with_channels_pass(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app) + alerting(sink.url))
    result = await one(loaded, RoutesReachReceivers)
    assert result.status is Status.PASS, result.evidence
    assert "→ oncall (webhook)" in result.details[0].evidence


async def test_a_route_ending_at_a_receiver_without_channels_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    body = services(app) + alerting(sink.url, extra_receiver="    - {name: nobody}\n")
    body = body.replace(
        "route: {receiver: oncall}",
        "route:\n    receiver: oncall\n    routes:\n"
        "      - {matchers: ['severity=\"critical\"'], receiver: nobody}",
    )
    result = await one(write_config(tmp_path, body), RoutesReachReceivers)
    assert result.status is Status.FAIL
    assert "web → nobody (has no channels)" in result.evidence
    assert "routes test" in result.remediation


async def test_rule_pack_unit_tests_pass_and_a_failing_test_file_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app) + alerting(sink.url))
    ok = await one(loaded, RuleUnitTests)
    assert ok.status is Status.PASS, ok.evidence
    assert {d.subject for d in ok.details} == {"rulepack:http"}
    (tmp_path / "web.yml").write_text(
        "groups:\n  - name: web\n    rules:\n      - alert: WebDown\n"
        '        expr: up{service="web"} == 0\n',
        encoding="utf-8",
    )
    (tmp_path / "web.test.yml").write_text(
        "rule_files: [web.yml]\ntests:\n  - input_series:\n"
        "      - {series: 'up{service=\"web\"}', values: '0 0 0'}\n"
        "    alert_rule_test:\n      - {eval_time: 2m, alertname: WebDown, exp_alerts: []}\n",
        encoding="utf-8",
    )
    body = services(app) + "rule_files: [web.yml]\n" + alerting(sink.url)
    bad = write_config(tmp_path, body, readiness="  alerting: {rule_tests: ['*.test.yml']}\n")
    result = await one(bad, RuleUnitTests)
    assert result.status is Status.FAIL
    assert "web.test.yml: FAILED: test group 1: alertname: WebDown, time: 2m" in result.evidence


async def test_rule_files_without_unit_tests_warn(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    (tmp_path / "web.yml").write_text("groups: []\n", encoding="utf-8")
    body = services(app) + "rule_files: [web.yml]\n" + alerting(sink.url)
    result = await one(write_config(tmp_path, body), RuleUnitTests)
    assert result.status is Status.WARN
    assert "the rule files have no unit tests" in result.evidence


async def test_test_notifications_are_only_sent_when_asked(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app) + alerting(sink.url))
    result = await one(loaded, DeliversTestNotifications)
    assert result.status is Status.SKIP
    assert "--send-test-alerts" in result.remediation
    assert sink.deliveries() == []


async def test_each_receiver_delivers_a_marked_test_notification(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app) + alerting(sink.url))
    result = await one(loaded, DeliversTestNotifications, options=RunOptions(send_test_alerts=True))
    assert result.status is Status.PASS, result.evidence
    assert {d.path for d in sink.deliveries()} == {"/oncall", "/leads"}
    assert all(d.is_test for d in sink.deliveries())
    figures = result.data["deliveries"]
    assert {f["receiver"] for f in figures} == {"oncall", "leads"}
    assert all(f["status"] == "delivered" and f["latency_ms"] >= 0 for f in figures)
    assert "delivered in" in result.details[0].evidence


async def test_a_receiver_that_rejects_fails_with_its_answer(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    sink.faults.fail(403, times=10, body={"error": "invalid token"})
    loaded = write_config(
        tmp_path,
        services(app) + alerting(sink.url),
        readiness="  alerting: {test_alert_receivers: [oncall], test_alert_timeout: 10s}\n",
    )
    result = await one(loaded, DeliversTestNotifications, options=RunOptions(send_test_alerts=True))
    assert result.status is Status.FAIL
    assert "oncall: webhook[0]" in result.evidence
    assert "rejected after 1 attempt(s)" in result.evidence
    assert "403" in result.evidence
    assert "notify test" in result.remediation


POLICY = (
    "  escalation_policies:\n"
    "    - name: main\n      levels:\n"
    "        - {receivers: [oncall], after: 0s}\n"
    "        - {receivers: [leads], after: %s}\n"
)


async def test_two_levels_within_the_deadline_pass(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    loaded = write_config(tmp_path, services(app) + alerting(sink.url, policy=POLICY % "15m"))
    result = await one(loaded, EscalationPolicies)
    assert result.status is Status.PASS, result.evidence
    assert "L1 oncall at 30s; L2 leads at 15m30s" in result.evidence


async def test_escalation_past_the_deadline_or_with_one_level_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    late = write_config(tmp_path, services(app) + alerting(sink.url, policy=POLICY % "2h"))
    result = await one(late, EscalationPolicies)
    assert result.status is Status.FAIL
    assert "later than the deadline 1h" in result.evidence
    single = POLICY.split("        - {receivers: [leads]")[0]
    lone = write_config(tmp_path, services(app) + alerting(sink.url, policy=single))
    result = await one(lone, EscalationPolicies)
    assert result.status is Status.FAIL
    assert "1 level(s); at least 2 are needed" in result.evidence


async def test_no_escalation_policy_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    result = await one(
        write_config(tmp_path, services(app) + alerting(sink.url)), EscalationPolicies
    )
    assert result.status is Status.FAIL
    assert "no escalation policy" in result.evidence


def _silence(db: Database, *, catch_all: bool) -> None:
    now = time.time()
    matchers = (
        (Matcher("alertname", MatchOp.REGEX, ".+"),)
        if catch_all
        else (Matcher("service", MatchOp.EQUAL, "web"),)
    )
    store = Silences(db)
    store.load()
    store.set(Silence("", matchers, now, now + 3600, "ops", "deploy window"), now, force=catch_all)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_silence_matching_everything_fails(
    tmp_path: Path, app: FakeServer, sink: WebhookSink, backend: str, request: pytest.FixtureRequest
) -> None:
    state = ""
    if backend == "postgres":
        dsn = request.getfixturevalue("pg_database")
        state = f"state: {{backend: postgres, dsn: '{dsn}'}}\n"
        from watchkeeper.state.db import postgres_url

        url = postgres_url(dsn)
    else:
        (tmp_path / "data").mkdir()
        url = sqlite_url(tmp_path / "data" / "state.sqlite")
    loaded = write_config(tmp_path, state + services(app) + alerting(sink.url))
    db = Database(url)
    try:
        db.upgrade()
        _silence(db, catch_all=False)
        narrow = await one(loaded, NoCatchAllSilence)
        assert narrow.status is Status.PASS
        assert "1 active or pending silences; none matches every alert" in narrow.evidence
        _silence(db, catch_all=True)
        broad = await one(loaded, NoCatchAllSilence)
    finally:
        db.dispose()
    assert broad.status is Status.FAIL
    assert 'alertname=~".+"' in broad.evidence
    assert "by ops" in broad.evidence
    assert "deploy window" in broad.evidence


async def test_silences_are_skipped_before_the_state_database_exists(
    tmp_path: Path, app: FakeServer, sink: WebhookSink
) -> None:
    result = await one(
        write_config(tmp_path, services(app) + alerting(sink.url)), NoCatchAllSilence
    )
    assert result.status is Status.SKIP
    assert "no state database yet" in result.evidence
    assert not (tmp_path / "data" / "state.sqlite").exists()
