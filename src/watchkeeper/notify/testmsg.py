"""The clearly marked test notification that ``notify test`` and the API send."""

from __future__ import annotations

import hashlib
import uuid

from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.notify.base import AlertData, NotificationMessage, dedup_key

TEST_ALERTNAME = "WatchkeeperTest"


def make_test_message(
    receiver: str, *, clock: Clock, external_url: str = "", requested_by: str = ""
) -> NotificationMessage:
    """A one-alert ``test`` event with its own dedup key (every test goes out)."""
    now = clock.now()
    who = f" by {requested_by}" if requested_by else ""
    labels = {"alertname": TEST_ALERTNAME, "severity": "info", "receiver": receiver}
    fingerprint = hashlib.sha256(f"test\x00{receiver}".encode()).hexdigest()[:16]
    alert = AlertData(
        status=AlertStatus.FIRING,
        labels=labels,
        annotations={
            "summary": f"Test notification from Watchkeeper for receiver {receiver}",
            "description": f"This is a test, requested{who} at {rfc3339(now)}. "
            "No action is needed: it shows that this channel is set up.",
        },
        starts_at=now,
        ends_at=None,
        generator_url="",
        fingerprint=fingerprint,
        dashboard_url=f"{external_url.rstrip('/')}/receivers" if external_url else "",
    )
    group_key = f"watchkeeper-test:{receiver}"
    return NotificationMessage(
        receiver=receiver,
        status=AlertStatus.FIRING,
        alerts=(alert,),
        group_labels={"alertname": TEST_ALERTNAME},
        common_labels=dict(labels),
        common_annotations=dict(alert.annotations),
        external_url=external_url,
        group_key=group_key,
        event=NotificationEvent.TEST,
        dedup_key=dedup_key(group_key, NotificationEvent.TEST, uuid.uuid4().hex),
        created_at=now,
        is_test=True,
    )
