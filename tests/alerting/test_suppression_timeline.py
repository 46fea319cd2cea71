"""Inhibition, silences starting and expiring, dependencies and acknowledgements, as
timelines on a fake clock."""

from __future__ import annotations

import pytest

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.silences import Silence
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent as Ev
from watchkeeper.core.labels import Matcher, MatchOp

from .support import RecordingOutbox, alert

CONFIG = """
services:
  - name: database
  - name: backend
    depends_on: [database]
  - name: frontend
    depends_on: [backend]
alerting:
  route:
    receiver: ops
    group_by: [alertname, service]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
  receivers:
    - name: ops
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity="warning"']
      equal: [cluster]
"""

DAY = 86400


def names(outbox: RecordingOutbox) -> list[tuple[Ev, list[str]]]:
    return [(e, alerts) for _, e, alerts in outbox.events()]


async def test_a_critical_alert_inhibits_warnings_with_the_same_cluster(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put(
        [alert("ClusterDown", starts_at=t0, ends_at=t0 + 600, severity="critical", cluster="eu")]
    )
    await m.put(
        [
            alert("Slow", starts_at=t0, ends_at=t0 + DAY, severity="warning", cluster="eu"),
            alert("Slow", starts_at=t0, ends_at=t0 + DAY, severity="warning", cluster="us"),
        ]
    )
    await fake_clock.advance(0)
    assert names(outbox) == [(Ev.FIRING, ["ClusterDown:firing"]), (Ev.FIRING, ["Slow:firing"])]
    assert outbox.messages[1][1].alerts[0].labels["cluster"] == "us"
    outbox.clear()
    await fake_clock.advance(660)  # the source resolves at 600; the next tick frees the target
    assert (Ev.FIRING, ["Slow:firing", "Slow:firing"]) in names(outbox)
    inhibited = m.history.query(events=[HistoryEvent.INHIBITED, HistoryEvent.UNINHIBITED])
    assert [e.event for e in reversed(inhibited)] == [
        HistoryEvent.INHIBITED,
        HistoryEvent.UNINHIBITED,
    ]


async def test_an_alert_matching_both_sides_does_not_inhibit_itself(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(
        CONFIG.replace(
            "target_matchers: ['severity=\"warning\"']", "target_matchers: ['team=\"x\"']"
        ).replace("source_matchers: ['severity=\"critical\"']", "source_matchers: ['team=\"x\"']")
    )
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Only", starts_at=t0, ends_at=t0 + DAY, team="x", cluster="eu")])
    await fake_clock.advance(0)
    assert names(outbox) == [(Ev.FIRING, ["Only:firing"])]


def silence(t_start: float, t_end: float, *matchers: Matcher) -> Silence:
    return Silence(
        id="",
        matchers=matchers,
        starts_at=t_start,
        ends_at=t_end,
        created_by="alice",
        comment="maintenance",
    )


async def test_a_silence_mutes_from_its_start_and_releases_at_its_end(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.actions.set_silence(silence(t0 + 100, t0 + 1000, Matcher.equal("alertname", "Noisy")))
    await m.put([alert("Noisy", starts_at=t0, ends_at=t0 + DAY, service="api")])
    await fake_clock.advance(0)
    assert names(outbox) == [(Ev.FIRING, ["Noisy:firing"])]  # not yet silenced
    await fake_clock.advance(100)
    await m.put([alert("Noisy", starts_at=t0 + 100, ends_at=t0 + DAY, service="web")])
    await fake_clock.advance(800)
    assert len(outbox.messages) == 1  # the new alert arrived while silenced
    await fake_clock.advance(100)  # the silence ends at t0 + 1000
    assert names(outbox)[1:] == [(Ev.FIRING, ["Noisy:firing"])]
    assert outbox.messages[1][1].created_at == t0 + 1000
    assert outbox.messages[1][1].alerts[0].labels["service"] == "web"


async def test_expiring_a_silence_by_hand_releases_its_alerts(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    s = await m.actions.set_silence(
        silence(t0, t0 + DAY, Matcher("service", MatchOp.REGEX, "api|web"))
    )
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY, service="api")])
    await fake_clock.advance(300)
    assert outbox.messages == []
    await m.actions.expire_silence(s.id)
    await fake_clock.advance(0)
    assert names(outbox) == [(Ev.FIRING, ["Down:firing"])]
    history = m.history.query(fingerprint=m.store.__iter__().__next__().fingerprint)
    kinds = [e.event for e in reversed(history)]
    assert kinds[:3] == [HistoryEvent.FIRING, HistoryEvent.SILENCED, HistoryEvent.UNSILENCED]


async def test_a_negative_matcher_silences_everything_but_its_value(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.actions.set_silence(
        silence(
            t0,
            t0 + DAY,
            Matcher.equal("alertname", "Down"),
            Matcher("service", MatchOp.NOT_EQUAL, "payments"),
        )
    )
    await m.put(
        [
            alert("Down", starts_at=t0, ends_at=t0 + DAY, service="api"),
            alert("Down", starts_at=t0, ends_at=t0 + DAY, service="payments"),
        ]
    )
    await fake_clock.advance(0)
    assert [m.alerts[0].labels["service"] for _, m in outbox.messages] == ["payments"]


async def test_backend_alerts_are_suppressed_while_the_database_alert_fires(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("DatabaseDown", starts_at=t0, ends_at=t0 + 600, service="database")])
    await m.put(
        [
            alert("BackendErrors", starts_at=t0, ends_at=t0 + DAY, service="backend"),
            alert("FrontendErrors", starts_at=t0, ends_at=t0 + DAY, service="frontend"),
        ]
    )
    await fake_clock.advance(0)
    assert names(outbox) == [(Ev.FIRING, ["DatabaseDown:firing"])]
    backend = next(a for a in m.store if a.labels["service"] == "backend")
    view = m.views.view(backend, fake_clock.now())
    assert view.suppressed_by  # tracked and shown as suppressed
    assert view.state.value == "suppressed"
    await fake_clock.advance(600)  # the database recovers; the backend still fails
    assert sorted(e for e in names(outbox)[1:]) == [
        (Ev.FIRING, ["BackendErrors:firing"]),
        (Ev.RESOLVED, ["DatabaseDown:resolved"]),
    ]
    frontend = next(a for a in m.store if a.labels["service"] == "frontend")
    assert m.views.view(frontend, fake_clock.now()).suppressed_by == (backend.fingerprint,)


async def test_a_dependent_alert_resolution_is_never_blocked(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("BackendErrors", starts_at=t0, ends_at=t0 + DAY, service="backend")])
    await fake_clock.advance(0)
    await m.put([alert("DatabaseDown", starts_at=t0, ends_at=t0 + DAY, service="database")])
    await fake_clock.advance(120)
    await m.put([alert("BackendErrors", starts_at=t0, ends_at=fake_clock.now(), service="backend")])
    await fake_clock.advance(60)
    assert (Ev.RESOLVED, ["BackendErrors:resolved"]) in names(outbox)


ACK = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    group_interval: 5m
    repeat_interval: 1h
  receivers:
    - name: ops
  acknowledgement:
    default_expiry: 2h
"""


async def test_an_ack_stops_repeats_until_it_expires(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(ACK)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(60)
    ack = await m.actions.ack_alert(outbox.messages[0][1].alerts[0].fingerprint, by="alice")
    assert ack[0].expires_at == t0 + 60 + 7200
    await fake_clock.advance(7200 - 1)
    assert [e for _, e, _ in outbox.events()] == [Ev.FIRING, Ev.ACKNOWLEDGED]
    await fake_clock.advance(301)
    assert [e for _, e, _ in outbox.events()] == [
        Ev.FIRING,
        Ev.ACKNOWLEDGED,
        Ev.UNACKNOWLEDGED,
        Ev.REPEAT,
    ]
    history = [e.event for e in reversed(m.history.query())]
    assert HistoryEvent.ACK_EXPIRED in history


async def test_an_acked_group_still_reports_new_alerts_and_resolution(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(ACK.replace("group_by: [alertname]", "group_by: [cluster]"))
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, ends_at=t0 + DAY, cluster="eu")])
    await fake_clock.advance(0)
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="alice", comment="on it")
    await m.put([alert("B", starts_at=t0, ends_at=t0 + 900, cluster="eu")])
    await fake_clock.advance(1200)
    assert [(e, a) for _, e, a in outbox.events()] == [
        (Ev.FIRING, ["A:firing"]),
        (Ev.ACKNOWLEDGED, ["A:firing"]),
        (Ev.FIRING, ["A:firing", "B:firing"]),
        (Ev.FIRING, ["A:firing", "B:resolved"]),
    ]


async def test_resolving_by_hand_records_who_and_notifies(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(ACK)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(400)
    fp = outbox.messages[0][1].alerts[0].fingerprint
    resolved = await m.actions.resolve_alert(fp, by="bob")
    await fake_clock.advance(0)
    assert resolved.resolved_by == "bob"
    assert [e for _, e, _ in outbox.events()] == [Ev.FIRING, Ev.RESOLVED]
    entry = m.history.query(fingerprint=fp, events=[HistoryEvent.RESOLVED_BY_HAND])[0]
    assert entry.actor == "bob"


async def test_acking_an_unknown_group_is_a_clear_not_found(
    make_manager, fake_clock: FakeClock
) -> None:
    from watchkeeper.core.errors import NotFoundError

    m = make_manager(ACK)
    await m.start()
    with pytest.raises(NotFoundError, match="alert group nope not found"):
        await m.actions.ack_group("nope", by="alice")
