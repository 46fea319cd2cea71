"""Grouping timers as timelines on a fake clock: group_wait, group_interval, repeat_interval
and resolution, with Alertmanager's defaults and inheritance."""

from __future__ import annotations

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent

from .support import RecordingOutbox, alert

FIRING = NotificationEvent.FIRING
RESOLVED = NotificationEvent.RESOLVED
REPEAT = NotificationEvent.REPEAT

CONFIG = """
alerting:
  route:
    receiver: ops
    group_by: [service]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
  receivers:
    - name: ops
"""


async def test_group_wait_collects_alerts_into_one_notification(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("HighLatency", starts_at=t0, service="api")])
    await fake_clock.advance(10)
    await m.put([alert("Errors", starts_at=t0 + 10, service="api")])
    await fake_clock.advance(19)
    assert outbox.messages == []
    await fake_clock.advance(1)
    assert outbox.events() == [("ops", FIRING, ["Errors:firing", "HighLatency:firing"])]
    assert fake_clock.now() == t0 + 30


async def test_an_alert_that_started_before_group_wait_flushes_at_once(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Old", starts_at=t0 - 120, service="api")])
    await fake_clock.advance(0)
    assert outbox.events() == [("ops", FIRING, ["Old:firing"])]


async def test_group_interval_spaces_notifications_of_a_group(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, ends_at=t0 + 3600, service="api")])
    await fake_clock.advance(30)
    outbox.clear()
    await fake_clock.advance(60)
    await m.put([alert("B", starts_at=fake_clock.now(), ends_at=t0 + 3600, service="api")])
    await fake_clock.advance(60)
    assert outbox.messages == []  # 90 s after the first notification
    await fake_clock.advance(180)  # t0 + 330 = first notification + group_interval
    assert outbox.events() == [("ops", FIRING, ["A:firing", "B:firing"])]
    assert outbox.messages[0][1].created_at == t0 + 330


async def test_a_change_after_a_quiet_interval_goes_out_without_waiting_for_a_tick(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, ends_at=t0 + 3600, service="api")])
    await fake_clock.advance(30)
    await fake_clock.advance(400)  # more than group_interval since the last notification
    outbox.clear()
    await m.put([alert("A", starts_at=t0, ends_at=fake_clock.now(), service="api")])
    await fake_clock.advance(0)
    assert outbox.events() == [("ops", RESOLVED, ["A:resolved"])]


async def test_separate_groups_notify_separately(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, service="api"), alert("A", starts_at=t0, service="db")])
    await fake_clock.advance(30)
    keys = sorted(msg.group_key for _, msg in outbox.messages)
    assert keys == ['{}:{service="api"}', '{}:{service="db"}']


async def test_repeat_interval_resends_an_unchanged_group(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, ends_at=t0 + 10 * 3600, service="api")])
    await fake_clock.advance(30)
    await fake_clock.advance(3600 - 1)
    assert [e for _, e, _ in outbox.events()] == [FIRING]
    await fake_clock.advance(300)  # the next tick after repeat_interval
    assert [e for _, e, _ in outbox.events()] == [FIRING, REPEAT]
    repeat = outbox.messages[1][1]
    assert repeat.dedup_key != outbox.messages[0][1].dedup_key


async def test_resolution_by_timeout_sends_resolved_and_clears_the_group(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, service="api")])  # no end: resolve_timeout 5m
    await fake_clock.advance(30)
    await fake_clock.advance(300)
    assert outbox.events()[-1] == ("ops", RESOLVED, ["A:resolved"])
    assert m.dispatcher.groups == {}
    assert len(m.store) == 0


async def test_a_re_sent_alert_stays_firing_past_resolve_timeout(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    for _ in range(20):
        await m.put([alert("A", starts_at=t0, service="api")])
        await fake_clock.advance(60)
    assert [e for _, e, _ in outbox.events()] == [FIRING]


async def test_only_resolved_alerts_never_notify(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0 - 60, ends_at=t0 - 1, service="api")])
    await fake_clock.advance(60)
    assert outbox.messages == []


async def test_an_alert_that_fires_and_resolves_within_group_wait_is_not_notified(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("A", starts_at=t0, service="api")])
    await fake_clock.advance(5)
    await m.put([alert("A", starts_at=t0, ends_at=t0 + 5, service="api")])
    await fake_clock.advance(600)
    assert outbox.messages == []


INHERIT = """
alerting:
  route:
    receiver: ops
    group_by: ['...']
    routes:
      - matchers: ['severity="critical"']
        receiver: pager
        group_wait: 0s
      - matchers: ['team="db"']
        receiver: db
        group_by: [team]
  receivers:
    - name: ops
    - name: pager
    - name: db
"""


async def test_defaults_and_inheritance_follow_alertmanager(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(INHERIT)
    root = m.routes
    assert (root.opts.group_wait, root.opts.group_interval, root.opts.repeat_interval) == (
        30.0,
        300.0,
        14400.0,
    )
    pager, db = root.routes
    assert pager.opts.group_by_all
    assert pager.opts.group_wait == 0.0
    assert pager.opts.group_interval == 300.0
    assert db.opts.group_by == ("team",)
    assert not db.opts.group_by_all
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, severity="critical", instance="a")])
    await fake_clock.advance(0)
    assert outbox.events() == [("pager", FIRING, ["Down:firing"])]
    msg = outbox.messages[0][1]
    assert msg.group_labels == {"alertname": "Down", "instance": "a", "severity": "critical"}
    assert msg.group_key == (
        '{}/{severity="critical"}:{alertname="Down", instance="a", severity="critical"}'
    )


async def test_continue_routes_an_alert_to_several_receivers(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(
        """
alerting:
  route:
    receiver: ops
    group_wait: 0s
    routes:
      - match: {service: db}
        receiver: db
        continue: true
      - match_re: {service: "d.*"}
        receiver: pager
  receivers:
    - name: ops
    - name: db
    - name: pager
"""
    )
    await m.start()
    await m.put([alert("X", starts_at=fake_clock.now(), service="db")])
    await fake_clock.advance(0)
    assert sorted(r for r, _, _ in outbox.events()) == ["db", "pager"]
