from __future__ import annotations

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import NotificationEvent

from .support import RecordingOutbox, alert

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
"""


async def test_a_firing_alert_is_queued_at_once_with_group_wait_zero(
    make_manager, outbox: RecordingOutbox, fake_clock: FakeClock
) -> None:
    m = make_manager(CONFIG)
    await m.start()
    await m.put([alert("Down", starts_at=fake_clock.now(), service="api")])
    await fake_clock.advance(0)
    assert outbox.events() == [("ops", NotificationEvent.FIRING, ["Down:firing"])]
