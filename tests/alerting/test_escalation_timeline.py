"""Escalation policies as timelines: every level with its deadline, acknowledgement at each
stage, acknowledgement expiry and withdrawal, repeat of the whole policy, resolution,
muting, and the policy's interplay with the route's receiver."""

from __future__ import annotations

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent as Ev

from .support import RecordingOutbox, alert

POLICY = """
alerting:
  route:
    receiver: operations
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 4h
    escalation_policy: insurance-navigator
    routes:
      - matchers: ['team="web"']
        receiver: web
        escalation_policy: ''
  receivers:
    - name: operations
    - name: development
    - name: seniors
    - name: web
  escalation_policies:
    - name: insurance-navigator
      levels:
        - receivers: [operations]
          after: 0m
        - receivers: [development]
          after: 15m
        - receivers: [seniors]
          after: 30m
{extra}
"""


def timeline(outbox: RecordingOutbox, t0: float) -> list[tuple[float, str, Ev]]:
    return [(m.created_at - t0, r, m.event) for r, m in outbox.messages]


async def start(make_manager, fake_clock: FakeClock, extra: str = "") -> tuple[object, float]:
    m = make_manager(POLICY.format(extra=extra))
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("BackendDown", starts_at=t0, ends_at=t0 + 86400)])
    await fake_clock.advance(0)
    return m, t0


async def test_levels_are_reached_at_their_deadlines_without_an_ack(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    _, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (900, "development", Ev.ESCALATED),
        (2700, "seniors", Ev.ESCALATED),
    ]
    levels = [m.escalation_level for _, m in outbox.messages]
    assert levels == [None, 2, 3]


async def test_resolution_reaches_every_receiver_the_escalation_reached(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(1000)
    await m.put([alert("BackendDown", starts_at=t0, ends_at=fake_clock.now())])
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (900, "development", Ev.ESCALATED),
        (1000, "operations", Ev.RESOLVED),
        (1000, "development", Ev.RESOLVED),
    ]
    assert m.escalation.all() == []


async def test_an_ack_before_the_second_level_stops_escalation_and_repeats(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(600)
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="alice", comment="looking")
    await fake_clock.advance(6 * 3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (600, "operations", Ev.ACKNOWLEDGED),
    ]
    assert outbox.messages[1][1].acknowledged_by == "alice"


async def test_an_ack_between_levels_stops_the_remaining_levels(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(1200)
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="dev")
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (900, "development", Ev.ESCALATED),
        (1200, "operations", Ev.ACKNOWLEDGED),
        (1200, "development", Ev.ACKNOWLEDGED),
    ]


async def test_an_expiring_ack_re_escalates_from_the_first_level(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(300)
    gid = next(iter(m.dispatcher.groups))
    await m.actions.ack_group(gid, by="alice", expires_at=fake_clock.now() + 1800)
    await fake_clock.advance(1800 + 900 + 1)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (300, "operations", Ev.ACKNOWLEDGED),
        (2100, "operations", Ev.UNACKNOWLEDGED),
        (2100, "operations", Ev.ESCALATED),
        (3000, "development", Ev.ESCALATED),
    ]
    assert m.acks.get(gid, fake_clock.now()) is None


async def test_withdrawing_an_ack_re_escalates(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    gid = next(iter(m.dispatcher.groups))
    await fake_clock.advance(60)
    await m.actions.ack_group(gid, by="alice")
    await fake_clock.advance(60)
    await m.actions.unack_group(gid, by="bob")
    await fake_clock.advance(900)
    assert [(t, r, e) for t, r, e in timeline(outbox, t0) if e is not Ev.ACKNOWLEDGED] == [
        (0, "operations", Ev.FIRING),
        (120, "operations", Ev.UNACKNOWLEDGED),
        (120, "operations", Ev.ESCALATED),
        (1020, "development", Ev.ESCALATED),
    ]


async def test_the_whole_policy_repeats_as_configured(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    extra = "      repeat: 1\n      repeat_after: 10m"
    _, t0 = await start(make_manager, fake_clock, extra)
    await fake_clock.advance(4 * 3600 - 60)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (900, "development", Ev.ESCALATED),
        (2700, "seniors", Ev.ESCALATED),
        (3300, "operations", Ev.ESCALATED),
        (4200, "development", Ev.ESCALATED),
        (6000, "seniors", Ev.ESCALATED),
    ]


async def test_resolution_before_the_second_level_escalates_nobody(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(120)
    await m.put([alert("BackendDown", starts_at=t0, ends_at=fake_clock.now())])
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (120, "operations", Ev.RESOLVED),
    ]


async def test_a_silenced_group_does_not_escalate(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    from watchkeeper.alerting.silences import Silence
    from watchkeeper.core.labels import Matcher

    m, t0 = await start(make_manager, fake_clock)
    await m.actions.set_silence(
        Silence(
            id="",
            matchers=(Matcher.equal("alertname", "BackendDown"),),
            starts_at=t0,
            ends_at=t0 + 7200,
            created_by="alice",
            comment="deploy",
        )
    )
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [(0, "operations", Ev.FIRING)]


async def test_a_first_level_naming_another_receiver_is_paged_at_once(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    config = POLICY.format(extra="").replace(
        "        - receivers: [operations]\n          after: 0m",
        "        - receivers: [seniors]\n          after: 0m",
    )
    m = make_manager(config)
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("BackendDown", starts_at=t0, ends_at=t0 + 86400)])
    await fake_clock.advance(0)
    assert timeline(outbox, t0) == [(0, "operations", Ev.FIRING), (0, "seniors", Ev.ESCALATED)]


async def test_a_route_can_turn_the_inherited_policy_off(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(POLICY.format(extra=""))
    await m.start()
    t0 = fake_clock.now()
    await m.put([alert("FrontendDown", starts_at=t0, ends_at=t0 + 86400, team="web")])
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [(0, "web", Ev.FIRING)]


async def test_escalation_dedup_keys_differ_per_level_and_run(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    extra = "      repeat: 1\n      repeat_after: 10m"
    _, _ = await start(make_manager, fake_clock, extra)
    await fake_clock.advance(3 * 3600)
    keys = [m.dedup_key for _, m in outbox.messages]
    assert len(keys) == len(set(keys))


async def test_escalation_waits_out_a_silence_and_then_continues(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    from watchkeeper.alerting.silences import Silence
    from watchkeeper.core.labels import Matcher

    m, t0 = await start(make_manager, fake_clock)
    await fake_clock.advance(600)
    await m.actions.set_silence(
        Silence(
            id="",
            matchers=(Matcher.equal("alertname", "BackendDown"),),
            starts_at=t0 + 600,
            ends_at=t0 + 3600,
            created_by="alice",
            comment="deploy",
        )
    )
    await fake_clock.advance(3600)
    assert timeline(outbox, t0) == [
        (0, "operations", Ev.FIRING),
        (3600, "development", Ev.ESCALATED),  # level 2 was due at 900, during the silence
    ]
