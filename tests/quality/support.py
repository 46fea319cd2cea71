"""Alert histories written through the real history store, for the quality tests."""

from __future__ import annotations

from watchkeeper.alerting.history import AlertHistory, HistoryEvent
from watchkeeper.core.enums import AlertState

T0 = 1_700_000_000.0
EXTERNAL = {"cluster": "eu-1"}


def alert(name: str, service: str = "backend", **labels: str) -> dict[str, str]:
    return {"alertname": name, "service": service, "severity": "critical", **labels}


def episode(
    history: AlertHistory,
    labels: dict[str, str],
    fired: float,
    resolved: float | None,
    *,
    ack: float | None = None,
    by: str = "alice",
    flaps: int = 0,
) -> None:
    """One firing episode the way the stages record it: rule-side transitions without the
    external labels, alert management's acknowledgement and flapping events with them."""
    history.record_transition(labels, AlertState.PENDING, at=fired - 30)
    history.record_transition(labels, AlertState.FIRING, at=fired, value=1.0)
    managed = {**EXTERNAL, **labels}
    for i in range(flaps):
        history.record(HistoryEvent.FLAPPING, labels=managed, at=fired + 1 + i)
    if ack is not None:
        history.record(HistoryEvent.ACKNOWLEDGED, labels=managed, at=ack, actor=by, group_id="g1")
    if resolved is not None:
        history.record_transition(labels, AlertState.RESOLVED, at=resolved, value=0.0)
