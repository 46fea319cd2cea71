"""On-call rotations (daily and weekly hand-offs across daylight saving, overrides), an
atomic reload that keeps long-lived state, and the history API the rule evaluator uses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from watchkeeper.alerting.config_ext import OnCallRotationConfig
from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.model import fingerprint
from watchkeeper.alerting.oncall import OnCall
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import AlertState
from watchkeeper.core.enums import NotificationEvent as Ev
from watchkeeper.core.errors import ConfigError
from watchkeeper.state.db import Database

from .support import RecordingOutbox, alert

BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def rotation(handoff: str) -> OnCallRotationConfig:
    return OnCallRotationConfig.model_validate(
        {
            "name": "primary",
            "members": ["alice", "bob", "carol"],
            "handoff": handoff,
            "start": "2026-03-23T09:00:00",  # a Monday, before the switch to summer time
            "location": "Europe/Berlin",
            "overrides": [
                {"receiver": "dave", "start": "2026-04-01T12:00:00", "end": "2026-04-01T18:00:00"}
            ],
        }
    )


def test_a_weekly_rotation_hands_off_at_its_local_time_across_dst(db: Database) -> None:
    oncall = OnCall(db, [rotation("weekly")])
    assert oncall.on_call("primary", local("2026-03-23T09:00")).receiver == "alice"
    assert oncall.on_call("primary", local("2026-03-30T08:59")).receiver == "alice"
    shift = oncall.on_call("primary", local("2026-03-30T09:00"))  # after the DST switch
    assert shift.receiver == "bob"
    assert shift.starts_at == local("2026-03-30T09:00")
    assert oncall.on_call("primary", local("2026-04-06T10:00")).receiver == "carol"
    assert oncall.on_call("primary", local("2026-04-13T10:00")).receiver == "alice"


def test_a_daily_rotation_and_its_upcoming_shifts(db: Database) -> None:
    oncall = OnCall(db, [rotation("daily")])
    shifts = oncall.schedule("primary", local("2026-03-24T10:00"), 4)
    assert [s.receiver for s in shifts] == ["bob", "carol", "alice", "bob"]
    assert shifts[1].starts_at == local("2026-03-25T09:00")


def test_overrides_win_and_the_latest_one_wins(db: Database, fake_clock: FakeClock) -> None:
    oncall = OnCall(db, [rotation("weekly")])
    assert oncall.on_call("primary", local("2026-04-01T13:00")).receiver == "dave"
    oncall.add_override(
        "primary",
        "erin",
        local("2026-04-01T15:00"),
        local("2026-04-01T16:00"),
        created_by="ops",
        now=local("2026-03-30T00:00"),
        known_receivers=["erin"],
    )
    assert oncall.on_call("primary", local("2026-04-01T15:30")).receiver == "erin"
    assert oncall.on_call("primary", local("2026-04-01T16:30")).receiver == "dave"
    assert oncall.resolve("primary", local("2026-04-01T15:30")) == (
        "erin",
        {"oncall_rotation": "primary", "oncall_receiver": "erin"},
    )
    assert oncall.resolve("somebody", 0.0) == ("somebody", {})
    again = OnCall(db, [rotation("weekly")])
    again.load()  # API overrides are stored
    assert again.on_call("primary", local("2026-04-01T15:30")).receiver == "erin"


CONFIG = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
  receivers:
    - name: ops
    - name: dev
"""


async def test_a_reload_swaps_routes_and_keeps_state(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("Down", starts_at=t0, ends_at=t0 + 86400, team="dev")])
    await fake_clock.advance(0)
    new = load_config_text(
        CONFIG.replace(
            "    repeat_interval: 1h\n",
            "    repeat_interval: 1h\n    routes:\n      - matchers: [team=dev]\n"
            "        receiver: dev\n",
        )
    ).config.alerting
    await m.reload(new)
    await fake_clock.advance(0)
    assert [(r, e) for r, e, _ in outbox.events()] == [("ops", Ev.FIRING), ("dev", Ev.FIRING)]
    assert len(m.store) == 1
    await fake_clock.advance(3600)  # the old group is gone: ops gets no repeat
    assert [r for r, e, _ in outbox.events() if e is Ev.REPEAT] == ["dev"]


async def test_a_bad_reload_raises_and_changes_nothing(make_manager, fake_clock: FakeClock) -> None:
    m = make_manager(CONFIG)
    await m.start()
    good = load_config_text(CONFIG).config.alerting
    bad = good.model_copy(update={"route": good.route.model_copy(update={"receiver": "nobody"})})
    with pytest.raises(ConfigError, match="undefined receiver 'nobody'"):
        await m.reload(bad)
    assert m.routes.opts.receiver == "ops"


async def test_the_rule_evaluator_records_its_transitions(
    make_manager, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    labels = {"alertname": "HighLatency", "service": "api"}
    m.history.record_transition(labels, AlertState.PENDING, value=0.9)
    await fake_clock.advance(60)
    m.history.record_transition(labels, AlertState.FIRING, value=1.2)
    entries = m.history.query(fingerprint=fingerprint(labels))
    assert [(e.event, e.detail["value"]) for e in entries] == [
        (HistoryEvent.FIRING, 1.2),
        (HistoryEvent.PENDING, 0.9),
    ]
    assert entries[0].at - entries[1].at == 60
    assert entries[0].detail["source"] == "rule"
