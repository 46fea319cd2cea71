"""Incidents rebuilt from the real alert history, operators' labels (audited), and the
per-rule quality figures computed from them, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from watchkeeper.alerting.history import AlertHistory, HistoryEvent
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.quality.incidents import build_incidents, incidents_between, read_history
from watchkeeper.quality.labels import LabelStore, Verdict, parse_verdict
from watchkeeper.quality.metrics import overall, rule_quality
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.principal import system_principal
from watchkeeper.state.db import Database

from .support import EXTERNAL, T0, alert, episode

OPERATOR = system_principal("alice")


@pytest.fixture
def history(state_db: Database) -> AlertHistory:
    return AlertHistory(state_db, FakeClock(T0))


def test_an_episode_becomes_one_incident_with_its_ack_resolution_and_flaps(
    history: AlertHistory,
) -> None:
    episode(history, alert("HighErrors"), T0 + 100, T0 + 700, ack=T0 + 160, flaps=2)
    (incident,) = incidents_between(history, T0, T0 + 3600, EXTERNAL)
    assert incident.rule == "HighErrors"
    assert incident.service == "backend"
    assert incident.labels == alert("HighErrors")  # external labels removed
    assert incident.time_to_acknowledge == 60
    assert incident.acknowledged_by == "alice"
    assert incident.time_to_resolve == 600
    assert incident.flaps == 2
    assert incident.id.endswith(f"-{round((T0 + 100) * 1000)}")


def test_without_the_external_labels_the_acknowledgement_would_not_match(
    history: AlertHistory,
) -> None:
    episode(history, alert("HighErrors"), T0 + 100, T0 + 700, ack=T0 + 160)
    (incident,) = incidents_between(history, T0, T0 + 3600, external={})
    assert incident.acknowledged_at is None


def test_an_alert_that_fires_again_is_a_second_incident_and_an_open_one_stays_open(
    history: AlertHistory,
) -> None:
    labels = alert("ServiceDown", service="frontend")
    episode(history, labels, T0 + 10, T0 + 70)
    episode(history, labels, T0 + 200, None)
    first, second = incidents_between(history, T0, T0 + 3600, EXTERNAL)
    assert first.resolved
    assert not second.resolved
    assert second.time_to_resolve is None
    assert first.id != second.id


def test_history_is_read_in_pages_and_only_incidents_that_fired_in_the_period_count(
    history: AlertHistory,
) -> None:
    for i in range(30):
        episode(history, alert("Flappy", instance=str(i % 3)), T0 + i * 100, T0 + i * 100 + 50)
    entries = read_history(history, T0, T0 + 10_000)
    assert len(entries) == 60  # firing + resolved; pending events are not read
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert len(build_incidents(entries)) == 30
    assert len(incidents_between(history, T0 + 1000, T0 + 2000)) == 10


def test_closing_events_without_an_open_incident_are_ignored(history: AlertHistory) -> None:
    history.record(HistoryEvent.RESOLVED, labels=alert("X"), at=T0 + 5)
    history.record(HistoryEvent.EXPIRED, labels=alert("X"), at=T0 + 6)
    assert incidents_between(history, T0, T0 + 100) == []


def test_labels_attach_to_resolved_incidents_replace_earlier_ones_and_are_audited(
    state_db: Database, history: AlertHistory
) -> None:
    audit = AuditLog(FakeClock(T0))
    store = LabelStore(state_db, audit)
    episode(history, alert("HighErrors"), T0 + 100, T0 + 700)
    episode(history, alert("Open"), T0 + 300, None)
    done, still_open = incidents_between(history, T0, T0 + 3600, EXTERNAL)
    with pytest.raises(UserInputError, match="has not resolved yet"):
        store.put(still_open, Verdict.NOISE, principal=OPERATOR, now=T0 + 800)
    store.put(done, Verdict.NOISE, principal=OPERATOR, now=T0 + 800)
    store.put(done, Verdict.ACTIONABLE, principal=OPERATOR, now=T0 + 900, comment="rolled back")
    fresh = incidents_between(history, T0, T0 + 3600, EXTERNAL)
    store.apply(fresh, T0, T0 + 3600)
    assert [(i.label, i.comment) for i in fresh] == [("actionable", "rolled back"), (None, "")]
    with state_db.connect() as conn:
        records = audit.list(conn, action=AuditAction.ALERTS_LABEL.value)
    assert [r.target for r in records] == [done.id, done.id]
    assert records[0].actor == "alice"
    store.remove(done.id, principal=OPERATOR)
    assert store.between(T0, T0 + 3600) == {}
    with pytest.raises(NotFoundError):
        store.remove(done.id, principal=OPERATOR)


def test_an_unknown_label_names_the_valid_ones() -> None:
    assert parse_verdict(" Noise ") is Verdict.NOISE
    with pytest.raises(UserInputError, match="actionable, noise, duplicate"):
        parse_verdict("wrong")


def test_rule_quality_counts_precision_false_positives_mtta_mttr_and_flapping(
    state_db: Database, history: AlertHistory
) -> None:
    store = LabelStore(state_db)
    # HighErrors: 4 incidents, 3 labelled (2 actionable, 1 noise), 2 acknowledged
    for i, ack in enumerate((60.0, 180.0, None, None)):
        start = T0 + i * 1000
        episode(
            history,
            alert("HighErrors"),
            start,
            start + 300 + i * 100,
            ack=None if ack is None else start + ack,
            flaps=1 if i == 3 else 0,
        )
    episode(history, alert("DiskFull", service="database"), T0 + 5000, T0 + 5600)
    incidents = incidents_between(history, T0, T0 + 10_000, EXTERNAL)
    verdicts = [Verdict.ACTIONABLE, Verdict.NOISE, Verdict.ACTIONABLE, None, Verdict.DUPLICATE]
    for incident, verdict in zip(incidents, verdicts, strict=True):
        if verdict is not None:
            store.put(incident, verdict, principal=OPERATOR, now=T0 + 20_000)
    store.apply(incidents, T0, T0 + 10_000)
    high, disk = rule_quality(incidents)
    assert high.rule == "HighErrors"
    assert (high.incidents, high.labelled, high.actionable, high.noise) == (4, 3, 2, 1)
    assert high.precision == pytest.approx(2 / 3)
    assert high.false_positive_rate == pytest.approx(1 / 3)
    assert high.mtta == pytest.approx(120)
    assert high.mttr == pytest.approx((300 + 400 + 500 + 600) / 4)
    assert high.flapping == 1
    assert high.unlabelled_resolved == 1
    assert disk.duplicate_rate == 1.0
    assert disk.precision == 0.0
    total = overall(incidents)
    assert total.incidents == 5
    assert total.precision == pytest.approx(2 / 4)
    assert total.to_dict()["false_positive_rate"] == pytest.approx(1 / 4)


def test_no_labels_means_no_precision_rather_than_zero() -> None:
    assert rule_quality([]) == []
    q = overall([])
    assert q.precision is None
    assert q.false_positive_rate is None
    assert q.mtta is None
