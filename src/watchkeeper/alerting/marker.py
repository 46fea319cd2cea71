"""Remembers why each alert was last muted, so that the history records when an alert
becomes silenced, inhibited, suppressed or covered by maintenance, and when that ends."""

from __future__ import annotations

from collections.abc import Iterable

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.alerting.pipeline.stage import Mute, MuteKind

_STARTED = {
    MuteKind.SILENCED: HistoryEvent.SILENCED,
    MuteKind.INHIBITED: HistoryEvent.INHIBITED,
    MuteKind.SUPPRESSED: HistoryEvent.SUPPRESSED,
    MuteKind.MAINTENANCE: HistoryEvent.MAINTENANCE,
}
_ENDED = {
    MuteKind.SILENCED: HistoryEvent.UNSILENCED,
    MuteKind.INHIBITED: HistoryEvent.UNINHIBITED,
    MuteKind.SUPPRESSED: HistoryEvent.UNSUPPRESSED,
    MuteKind.MAINTENANCE: HistoryEvent.MAINTENANCE_ENDED,
}


class MuteMarker:
    def __init__(self) -> None:
        self._kinds: dict[str, dict[MuteKind, tuple[str, ...]]] = {}

    def update(self, fp: str, mutes: Iterable[Mute]) -> list[tuple[HistoryEvent, tuple[str, ...]]]:
        """Set ``fp``'s mutes; returns the history events of what changed."""
        now = {m.kind: m.by for m in mutes if m.kind in _STARTED}
        before = self._kinds.get(fp, {})
        events = [(_STARTED[k], by) for k, by in now.items() if k not in before]
        events += [(_ENDED[k], by) for k, by in before.items() if k not in now]
        if now:
            self._kinds[fp] = now
        else:
            self._kinds.pop(fp, None)
        return events

    def kinds(self, fp: str) -> set[MuteKind]:
        return set(self._kinds.get(fp, {}))

    def forget(self, fp: str) -> None:
        self._kinds.pop(fp, None)

    def retain(self, fps: set[str]) -> None:
        """Forget every alert not in ``fps`` (those alert management no longer holds)."""
        for fp in [fp for fp in self._kinds if fp not in fps]:
            del self._kinds[fp]
