"""Flapping and maintenance windows as timelines on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent as Ev

from .support import RecordingOutbox, alert

FLAP = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    group_interval: 10s
    repeat_interval: 1h
  receivers:
    - name: ops
  flapping:
    window: 10m
    threshold: 4
    settle: 5m
"""


async def flap(m, clock: FakeClock, times: int, period: float = 30) -> None:
    """Fire and resolve the alert ``times`` times, ``period`` seconds apart."""
    for _ in range(times):
        now = clock.now()
        await m.put([alert("Flappy", starts_at=now, ends_at=now + 86400)])
        await clock.advance(period)
        now = clock.now()
        await m.put([alert("Flappy", starts_at=now - period, ends_at=now)])
        await clock.advance(period)


async def test_a_flapping_alert_notifies_once_then_once_when_it_settles(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(FLAP)
    await m.start()
    t0 = fake_clock.now()
    await flap(m, fake_clock, 6)  # 12 changes in 6 minutes
    events = [e for _, e, _ in outbox.events()]
    assert events == [Ev.FIRING, Ev.RESOLVED, Ev.FIRING, Ev.FLAPPING]
    flapping_at = outbox.messages[3][1].created_at
    assert flapping_at == t0 + 90  # the fourth change
    fp = outbox.messages[0][1].alerts[0].fingerprint
    assert m.views.view(m.store.get(fp), fake_clock.now()).flapping
    await fake_clock.advance(300)  # quiet for the settle time
    events = [e for _, e, _ in outbox.events()]
    assert events == [Ev.FIRING, Ev.RESOLVED, Ev.FIRING, Ev.FLAPPING, Ev.RESOLVED]
    kinds = {e.event for e in m.history.query(fingerprint=fp)}
    assert {HistoryEvent.FLAPPING, HistoryEvent.FLAPPING_ENDED} <= kinds
    assert not m.flaps.is_flapping(fp)


async def test_a_flapping_alert_that_settles_firing_is_announced_firing(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(FLAP)
    await m.start()
    await flap(m, fake_clock, 3)
    now = fake_clock.now()
    await m.put([alert("Flappy", starts_at=now, ends_at=now + 86400)])
    await fake_clock.advance(301)
    events = [(e, a) for _, e, a in outbox.events()]
    assert events[-2:] == [(Ev.FLAPPING, ["Flappy:resolved"]), (Ev.FIRING, ["Flappy:firing"])]


async def test_changes_below_the_threshold_are_not_flapping(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(FLAP)
    await m.start()
    await flap(m, fake_clock, 2, period=210)  # 4 changes, but never 4 within 10m
    assert Ev.FLAPPING not in [e for _, e, _ in outbox.events()]


MAINT = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
  receivers:
    - name: ops
    - name: announcements
  time_intervals:
    - name: nights
      time_intervals:
        - times: [{start_time: '22:00', end_time: '24:00'}]
  maintenance_windows:
    - name: db-upgrade
      matchers: ['service="database"']
      starts_at: 2023-11-14T23:00:00Z
      ends_at: 2023-11-15T01:00:00Z
      notify: [announcements]
    - name: weekly-backup
      matchers: ['job="backup"']
      cron: '0 3 * * *'
      duration: 30m
    - name: nightly
      matchers: ['team="batch"']
      time_intervals: [nights]
"""
# FakeClock starts at 1_700_000_000 = 2023-11-14T22:13:20Z


def seen(outbox: RecordingOutbox, skip: str = "nightly") -> list[tuple[str, Ev]]:
    return [(r, m.event) for r, m in outbox.messages if skip not in m.group_key]


async def test_a_one_off_window_mutes_and_announces_start_and_end(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(MAINT)
    await m.start()
    t0 = fake_clock.now()
    start = datetime(2023, 11, 14, 23, tzinfo=UTC).timestamp()
    end = start + 7200
    await m.put([alert("DbDown", starts_at=t0, ends_at=t0 + 86400, service="database")])
    await fake_clock.advance(0)
    assert seen(outbox) == [("ops", Ev.FIRING)]
    await fake_clock.advance(start - t0)
    assert seen(outbox)[-1] == ("announcements", Ev.MAINTENANCE_STARTED)
    outbox.clear()
    await m.put([alert("DbSlow", starts_at=start, ends_at=t0 + 86400, service="database")])
    await fake_clock.advance(3600)
    assert seen(outbox) == []  # muted during maintenance
    await fake_clock.advance(end - fake_clock.now())
    assert sorted(seen(outbox)) == [
        ("announcements", Ev.MAINTENANCE_ENDED),
        ("ops", Ev.FIRING),  # DbSlow, which arrived during maintenance
        ("ops", Ev.REPEAT),  # DbDown, notified before and due for a repeat
    ]
    started = [e for e in m.history.query(events=[HistoryEvent.MAINTENANCE])]
    assert started


async def test_a_cron_window_recurs_daily(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(MAINT)
    await m.start()
    await fake_clock.advance(2 * 86400)
    starts = [
        datetime.fromtimestamp(msg.alerts[0].starts_at, UTC).strftime("%d %H:%M")
        for r, msg in outbox.messages
        if msg.event is Ev.MAINTENANCE_STARTED and "weekly-backup" in msg.group_key
    ]
    assert starts == ["15 03:00", "16 03:00"]
    ends = [
        datetime.fromtimestamp(msg.created_at, UTC).strftime("%d %H:%M")
        for _, msg in outbox.messages
        if msg.event is Ev.MAINTENANCE_ENDED and "weekly-backup" in msg.group_key
    ]
    assert ends == ["15 03:30", "16 03:30"]


async def test_a_time_interval_window_is_active_inside_its_interval(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(MAINT)
    await m.start()
    t0 = fake_clock.now()  # 22:13, inside 22:00-24:00
    await m.put([alert("BatchLate", starts_at=t0, ends_at=t0 + 86400, team="batch")])
    await fake_clock.advance(0)
    nightly = [msg for _, msg in outbox.messages if "nightly" in msg.group_key]
    assert [msg.event for msg in nightly] == [Ev.MAINTENANCE_STARTED]
    assert not [msg for _, msg in outbox.messages if msg.event is Ev.FIRING]
    await fake_clock.advance(datetime(2023, 11, 15, tzinfo=UTC).timestamp() - t0)
    assert [msg.event for _, msg in outbox.messages if msg.event is Ev.FIRING] == [Ev.FIRING]


async def test_a_window_created_through_the_api_starts_and_can_be_ended(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(MAINT)
    await m.start()
    t0 = fake_clock.now()
    window = await m.actions.create_maintenance(
        MaintenanceWindowConfig.model_validate(
            {
                "name": "deploy",
                "matchers": ['service="backend"'],
                "starts_at": datetime.fromtimestamp(t0 + 60, UTC),
                "ends_at": datetime.fromtimestamp(t0 + 3600, UTC),
            }
        ),
        by="alice",
    )
    await fake_clock.advance(120)
    deploy = [msg.event for _, msg in outbox.messages if window.id in msg.group_key]
    assert deploy == [Ev.MAINTENANCE_STARTED]
    await m.actions.delete_maintenance(window.id)
    deploy = [msg.event for _, msg in outbox.messages if window.id in msg.group_key]
    assert deploy == [Ev.MAINTENANCE_STARTED, Ev.MAINTENANCE_ENDED]


async def test_a_restart_during_a_window_announces_nothing_twice(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(MAINT)
    await m.start()
    await fake_clock.advance(3600)  # 23:13: db-upgrade and nightly are active
    before = len(outbox.messages)
    await m.stop()
    again = make_manager(MAINT)
    await again.start()
    await fake_clock.advance(0)
    assert len(outbox.messages) == before
    await fake_clock.advance(7200)
    ended = [msg for _, msg in outbox.messages if msg.event is Ev.MAINTENANCE_ENDED]
    assert len(ended) == 2  # db-upgrade at 01:00 and nightly at midnight, once each
