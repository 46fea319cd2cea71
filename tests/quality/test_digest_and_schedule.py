"""Digests built from the real stores (history, labels, delivery log, readiness runs), and
their schedule as a timeline on a fake clock: stored once per period, sent once through
the outbox to the configured receivers, re-planned after a reload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.config.loader import load_config_text
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.cron import next_run
from watchkeeper.core.enums import DeliveryStatus, NotificationEvent
from watchkeeper.core.errors import ConfigError, DeliveryFailure
from watchkeeper.notify.log import AttemptRecord, DeliveryLog
from watchkeeper.notify.outbox import SqlOutbox
from watchkeeper.notify.records import AttemptOutcome
from watchkeeper.quality.digest import (
    NO_READINESS,
    DigestKind,
    DigestSources,
    build_digest,
    response_targets,
)
from watchkeeper.quality.labels import LabelStore, Verdict
from watchkeeper.quality.scheduler import DigestScheduler, DigestStore
from watchkeeper.readiness.model import Category, CheckResult, Report, Status
from watchkeeper.readiness.store import ReadinessStore, Trigger
from watchkeeper.security.principal import system_principal
from watchkeeper.state.db import Database

from .support import EXTERNAL, alert, episode

# Tuesday 2026-03-03 07:00 UTC
MORNING = datetime(2026, 3, 3, 7, 0, tzinfo=UTC).timestamp()

CONFIG = """
global: {external_labels: {cluster: eu-1}}
services: [{name: backend}, {name: database}]
alerting:
  route: {receiver: oncall, escalation_policy: team}
  receivers:
    - name: oncall
      webhook_configs: [{url: "http://127.0.0.1:9/oncall"}]
    - name: managers
      webhook_configs: [{url: "http://127.0.0.1:9/managers"}]
  escalation_policies:
    - name: team
      levels:
        - {receivers: [oncall], after: 0s}
        - {receivers: [managers], after: 15m}
reports:
  digests:
    daily: {enabled: true, cron: "0 8 * * *", receivers: [managers]}
"""


def config(text: str = CONFIG) -> WatchkeeperConfig:
    return load_config_text(text).config


def attempt(log_db: Database, receiver: str, outcome: AttemptOutcome, at: float, n: int) -> None:
    record = AttemptRecord(
        delivery_id=n,
        receiver=receiver,
        channel="webhook",
        integration=0,
        event=NotificationEvent.FIRING,
        dedup_key=f"k{n}",
        group_id="g",
        payload_digest="d",
        attempt=1,
        outcome=outcome,
        status_code=200 if outcome is AttemptOutcome.DELIVERED else 500,
        latency_ms=5.0,
        reason=None if outcome is AttemptOutcome.DELIVERED else DeliveryFailure.SERVER_ERROR,
        error=None,
        response=None,
        retry_at=None,
        is_test=False,
        worker="w",
        at=at,
    )
    with log_db.begin() as conn:
        DeliveryLog.record(conn, record)


def sources(db: Database, clock: FakeClock, **extra: Any) -> DigestSources:
    return DigestSources(
        history=AlertHistory(db, clock),
        labels=LabelStore(db),
        delivery_log=DeliveryLog(db),
        slos=lambda _end: [],
        readiness=extra.get("readiness", lambda: None),
        overhead=extra.get("overhead"),
    )


def test_response_targets_come_from_the_escalation_policy_unless_configured() -> None:
    cfg = config()
    assert response_targets(cfg.reports, cfg.alerting) == (
        900.0,
        None,
        "escalation policy 'team': its second level",
    )
    own = config(CONFIG + "  targets: {mtta: 5m, mttr: 1h}\n")
    assert response_targets(own.reports, own.alerting) == (300.0, 3600.0, "reports.targets.mtta")


def test_an_unknown_digest_receiver_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        config(CONFIG.replace("receivers: [managers]", "receivers: [nobody]"))
    assert any(
        "reports.digests.daily.receivers[0]: unknown receiver 'nobody'" in p
        for p in info.value.problems
    )


def test_a_daily_digest_counts_alerts_quality_response_and_delivery(state_db: Database) -> None:
    clock = FakeClock(MORNING)
    src = sources(state_db, clock)
    day = MORNING - 86400
    episode(src.history, alert("HighErrors"), day + 100, day + 700, ack=day + 400)
    episode(src.history, alert("HighErrors"), day + 5000, day + 6300, ack=day + 6200)
    episode(src.history, alert("DiskFull", service="database"), day + 9000, day + 9600, flaps=3)
    episode(src.history, alert("Old"), day - 500, day - 100)  # the day before: not counted
    incidents = src.labels  # labels via the store the digest reads
    from watchkeeper.quality.incidents import incidents_between

    found = incidents_between(src.history, day, MORNING, EXTERNAL)
    incidents.put(found[0], Verdict.ACTIONABLE, principal=system_principal("a"), now=MORNING)
    incidents.put(found[1], Verdict.NOISE, principal=system_principal("a"), now=MORNING)
    for n, outcome in enumerate(
        [AttemptOutcome.DELIVERED] * 3 + [AttemptOutcome.RETRY, AttemptOutcome.GAVE_UP]
    ):
        attempt(state_db, "oncall", outcome, day + 100 + n, n)
    attempt(state_db, "managers", AttemptOutcome.DELIVERED, day + 200, 99)
    cfg = config()
    digest = build_digest(
        DigestKind.DAILY,
        MORNING,
        sources=src,
        reports=cfg.reports,
        alerting=cfg.alerting,
        external_labels=cfg.global_.external_labels,
        now=MORNING,
    )
    d = digest.to_dict()
    assert d["alerts"]["incidents"] == 3
    assert d["alerts"]["by_service"] == [
        {"service": "backend", "incidents": 2},
        {"service": "database", "incidents": 1},
    ]
    assert d["noisiest_rules"][0]["rule"] == "HighErrors"
    assert d["noisiest_rules"][0]["precision"] == 0.5
    assert d["noisiest_rules"][1]["flapping"] == 3
    assert d["response"]["mtta_seconds"] == pytest.approx((300 + 1200) / 2)
    assert d["response"]["mtta_met"] is True  # 750 s against 15 minutes
    assert d["response"]["mtta_target_seconds"] == 900
    assert d["response"]["mtta_met"] is True
    assert d["response"]["mttr_met"] is None
    delivery = {(c["receiver"], c["channel"]): c for c in d["delivery"]}
    assert delivery[("oncall", "webhook")]["success_rate"] == 0.75
    assert delivery[("oncall", "webhook")]["retries"] == 1
    assert delivery[("managers", "webhook")]["success_rate"] == 1.0
    assert d["readiness"] == {"status": "none", "message": NO_READINESS}
    text = digest.text()
    assert "Daily digest" in text
    assert "HighErrors: 2 incident(s), precision 50.0 %" in text
    assert f"Readiness: {NO_READINESS}" in text


def test_the_digest_shows_the_latest_readiness_run(state_db: Database) -> None:
    clock = FakeClock(MORNING)
    store = ReadinessStore(state_db)
    result = CheckResult("alerting.route", Category.ALERTING, "Routes", Status.WARN, "e", "r", 0.1)
    store.save(Report(MORNING - 60, MORNING - 50, (result,)), Trigger.SCHEDULE)

    def latest() -> dict[str, Any] | None:
        found = store.latest()
        if found is None:
            return None
        summary, report = found
        return {
            "status": summary.status.value,
            "at": "t",
            "summary": report.summary.line(),
            "run": 1,
        }

    cfg = config()
    digest = build_digest(
        DigestKind.WEEKLY,
        MORNING,
        sources=sources(state_db, clock, readiness=latest, overhead=lambda: {"cpu_share": 0.01}),
        reports=cfg.reports,
        alerting=cfg.alerting,
        external_labels={},
        now=MORNING,
    )
    assert digest.period_start == MORNING - 7 * 86400
    assert digest.to_dict()["readiness"]["status"] == "warn"
    assert "Readiness: WARN (1 checks: 0 passed, 1 warned" in digest.text()
    assert "Overhead: 1.0 % of a core" in digest.text()


def test_next_run_follows_the_cron_in_utc() -> None:
    assert next_run("0 8 * * *", MORNING) == MORNING + 3600
    assert next_run("0 8 * * MON", MORNING) == MORNING + 3600 + 6 * 86400


async def settle(check: Any, seconds: float = 5.0) -> None:
    """Let the scheduler's worker threads finish (bounded), until ``check()`` holds."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)


class Scheduled:
    def __init__(self, db: Database, cfg: WatchkeeperConfig, clock: FakeClock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.db = db
        self.outbox = SqlOutbox(db, cfg.alerting.receivers, clock=clock)
        self.src = sources(db, clock)
        self.scheduler = DigestScheduler(
            self.make,
            lambda: self.cfg,
            store=DigestStore(db),
            clock=clock,
            outbox=self.outbox,
        )

    def make(self, kind: DigestKind, end: float) -> Any:
        return build_digest(
            kind,
            end,
            sources=self.src,
            reports=self.cfg.reports,
            alerting=self.cfg.alerting,
            external_labels={},
            now=self.clock.now(),
        )

    def queued(self) -> list[tuple[str, NotificationEvent]]:
        page = self.outbox.list_deliveries(status=DeliveryStatus.PENDING)
        return sorted((d.receiver, d.event) for d in page.items)


async def test_the_daily_digest_is_sent_at_its_time_once_to_its_receivers(
    state_db: Database,
) -> None:
    clock = FakeClock(MORNING)
    s = Scheduled(state_db, config(), clock)
    await s.scheduler.start()
    try:
        await clock.advance(3599)
        assert s.queued() == []
        await clock.advance(2)
        await settle(s.queued)
        assert s.queued() == [("managers", NotificationEvent.REPORT)]
        (sent,) = DigestStore(state_db).list()
        assert sent["kind"] == "daily"
        assert sent["sent_to"] == ["managers"]
        assert sent["period_end"] == "2026-03-03T08:00:00.000Z"
        await clock.advance(86400)
        await settle(lambda: len(s.queued()) == 2)
        assert len(DigestStore(state_db).list()) == 2
        assert len(s.queued()) == 2
    finally:
        await s.scheduler.stop()


async def test_a_second_instance_at_the_same_time_does_not_send_it_again(
    state_db: Database,
) -> None:
    clock = FakeClock(MORNING + 3600)
    one = Scheduled(state_db, config(), clock)
    two = Scheduled(state_db, config(), clock)
    first = await one.scheduler.run(DigestKind.DAILY, MORNING + 3600)
    again = await two.scheduler.run(DigestKind.DAILY, MORNING + 3600)
    assert first is not None
    assert again is None
    assert one.queued() == [("managers", NotificationEvent.REPORT)]


async def test_a_reload_that_enables_the_weekly_digest_plans_it(state_db: Database) -> None:
    clock = FakeClock(MORNING)
    s = Scheduled(state_db, config(), clock)
    await s.scheduler.start()
    try:
        await clock.advance(1)
        assert set(s.scheduler.due()) == {DigestKind.DAILY}
        s.cfg = config(CONFIG + '    weekly: {enabled: true, cron: "30 7 * * TUE"}\n')
        await clock.advance(61)  # the schedule is re-read at least once a minute
        assert s.scheduler.due()[DigestKind.WEEKLY] == MORNING + 1800
        await clock.advance(1800)
        await settle(s.queued)
        kinds = [d["kind"] for d in DigestStore(state_db).list()]
        assert kinds == ["weekly"]
        assert s.queued() == [("oncall", NotificationEvent.REPORT)]  # the root receiver
    finally:
        await s.scheduler.stop()
        await asyncio.sleep(0)
