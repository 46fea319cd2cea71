"""State survives a restart: alerts, silences, acknowledgements, the notification log,
escalation positions, maintenance windows, on-call overrides and history; a restart neither
pages twice nor repeats early. The timelines run on SQLite; one test takes every table
through a restart on both SQLite and real PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.silences import Silence
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent as Ev
from watchkeeper.core.labels import Matcher
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_nflog

from .support import RecordingOutbox, alert

CONFIG = """
alerting:
  route:
    receiver: operations
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
    escalation_policy: standard
  receivers:
    - name: operations
    - name: development
    - name: seniors
  escalation_policies:
    - name: standard
      levels:
        - receivers: [operations]
        - receivers: [development]
          after: 15m
        - receivers: [seniors]
          after: 30m
"""
DAY = 86400


async def restart(make_manager, old, db: Database):
    await old.stop()
    new = make_manager(CONFIG, database=db)
    await new.start()
    return new


async def test_a_restart_neither_pages_twice_nor_repeats_early(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, db: Database
) -> None:
    m = make_manager(CONFIG, database=db)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY, source="rule")])
    await fake_clock.advance(120)
    m = await restart(make_manager, m, db)
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY, source="rule")])  # re-sent
    await fake_clock.advance(600)
    assert [(r, e) for r, e, _ in outbox.events()] == [("operations", Ev.FIRING)]
    await fake_clock.advance(3600 - 720 + 60)
    assert [e for _, e, _ in outbox.events()][-1] is not Ev.REPEAT or (
        outbox.messages[-1][1].created_at >= t0 + 3600
    )
    repeats = [m.created_at - t0 for r, m in outbox.messages if m.event is Ev.REPEAT]
    assert repeats == [3600.0]


async def test_a_crash_between_enqueue_and_log_queues_nothing_new(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, db: Database
) -> None:
    m = make_manager(CONFIG, database=db)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(0)
    with db.begin() as conn:  # as if the process died right after the enqueue
        conn.execute(sa.delete(alerting_nflog))
    m = await restart(make_manager, m, db)
    await fake_clock.advance(60)
    firing = [msg for _, msg in outbox.messages if msg.event is Ev.FIRING]
    assert len(firing) == 1
    assert len(outbox.keys) == len(outbox.messages)


async def test_escalation_resumes_where_it_was(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, db: Database
) -> None:
    m = make_manager(CONFIG, database=db)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(1200)  # level 2 reached at 900
    m = await restart(make_manager, m, db)
    await fake_clock.advance(3600)
    escalated = [
        (r, msg.created_at - t0) for r, msg in outbox.messages if msg.event is Ev.ESCALATED
    ]
    assert escalated == [("development", 900.0), ("seniors", 2700.0)]


async def test_silences_and_acks_survive_a_restart(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, db: Database
) -> None:
    m = make_manager(CONFIG, database=db)
    await m.start()
    t0 = fake_clock.now()
    await m.actions.set_silence(
        Silence(
            id="",
            matchers=(Matcher.equal("alertname", "Quiet"),),
            starts_at=t0,
            ends_at=t0 + 7200,
            created_by="alice",
            comment="planned",
        )
    )
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(0)
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="bob", comment="mine")
    m = await restart(make_manager, m, db)
    await m.put([alert("Quiet", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(3 * 3600)
    down = [m.event for _, m in outbox.messages if m.common_labels.get("alertname") == "Down"]
    assert down == [Ev.FIRING, Ev.ACKNOWLEDGED]  # the ack still holds: no repeat, no escalation
    quiet = [msg for _, msg in outbox.messages if msg.common_labels.get("alertname") == "Quiet"]
    assert quiet[0].created_at - t0 == 7200.0  # not before the silence ended
    assert m.acks.get(gid, fake_clock.now()) is not None
    acked = m.history.query(events=[HistoryEvent.ACKNOWLEDGED])
    assert [e.actor for e in acked] == ["bob"]


async def test_alerts_survive_and_a_lost_alert_resolves_after_its_end(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, db: Database
) -> None:
    m = make_manager(CONFIG, database=db)
    await m.start()
    t0 = fake_clock.now()
    for _ in range(10):  # re-sent every 15 s; the stored end time is refreshed lazily
        now = fake_clock.now()
        await m.put([alert("Down", starts_at=t0, ends_at=now + 60, source="rule")])
        await fake_clock.advance(15)
    m = await restart(make_manager, m, db)
    assert [a.name for a in m.store] == ["Down"]
    stored_end = m.store.get(next(iter(a.fingerprint for a in m.store))).ends_at
    assert stored_end >= fake_clock.now()  # still firing after the restart
    await fake_clock.advance(120)  # nobody re-sends it: it resolves at its end time
    assert [e for _, e, _ in outbox.events()][-1] is Ev.RESOLVED
    expired = m.history.query(events=[HistoryEvent.EXPIRED])
    assert len(expired) == 1


async def test_every_alerting_table_survives_a_restart_on_both_databases(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock, state_db: Database
) -> None:
    from datetime import UTC, datetime

    from watchkeeper.alerting.config_ext import MaintenanceWindowConfig

    config = (
        CONFIG
        + """
  oncall_rotations:
    - name: primary
      members: [development, seniors]
      start: 2023-11-13T09:00:00
"""
    )
    m = make_manager(config, database=state_db)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + DAY)])
    await fake_clock.advance(1000)  # notified, escalated to level 2
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="bob", expires_at=t0 + 5000)
    silence = await m.actions.set_silence(
        Silence("", (Matcher.equal("alertname", "Other"),), t0, t0 + DAY, "alice", "x")
    )
    window = await m.actions.create_maintenance(
        MaintenanceWindowConfig.model_validate(
            {
                "name": "deploy",
                "matchers": ['service="api"'],
                "starts_at": datetime.fromtimestamp(t0 + 2000, UTC),
                "ends_at": datetime.fromtimestamp(t0 + 3000, UTC),
            }
        ),
        by="alice",
    )
    override = m.actions.add_override("primary", "seniors", t0, t0 + DAY, by="alice")
    await m.stop()
    again = make_manager(config, database=state_db)
    await again.start()
    now = fake_clock.now()
    assert [a.name for a in again.store] == ["Down"]
    assert again.silences.get(silence.id).created_by == "alice"
    assert again.acks.get(gid, now) is not None
    assert again.escalation.get(gid) is not None
    assert again.escalation.get(gid).reached == ("operations", "development")  # type: ignore[union-attr]
    assert again.nflog.get(gid, "operations") is not None
    assert again.maintenance.get(window.id).name == "deploy"
    assert again.oncall.on_call("primary", now).override == override
    assert {e.event for e in again.history.query()} >= {
        HistoryEvent.ACKNOWLEDGED,
        HistoryEvent.NOTIFIED,
    }
    await fake_clock.advance(5000)  # the ack expires after the restart: escalation resumes
    assert [e for _, e, _ in outbox.events()].count(Ev.UNACKNOWLEDGED) >= 1
