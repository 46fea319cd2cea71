"""Records in the history when an alert becomes muted (silenced, inhibited, suppressed by a
dependency, in maintenance) and when that ends."""

from __future__ import annotations

from collections import defaultdict

from watchkeeper.alerting.history import AlertHistory, HistoryEntry
from watchkeeper.alerting.marker import MuteMarker
from watchkeeper.alerting.pipeline.stage import Mute, NotifyContext


class MuteHistoryStage:
    def __init__(self, marker: MuteMarker, history: AlertHistory) -> None:
        self._marker = marker
        self._history = history

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        mutes: dict[str, list[Mute]] = defaultdict(list)
        labels = {a.fingerprint: a.labels for a in (*ctx.all_alerts, *ctx.alerts)}
        for fp, mute in ctx.muted:
            mutes[fp].append(mute)
        entries: list[HistoryEntry] = []
        for fp in dict.fromkeys([*labels, *mutes]):
            for event, by in self._marker.update(fp, mutes.get(fp, ())):
                entries.append(
                    HistoryEntry(
                        event=event,
                        at=ctx.now,
                        labels=labels.get(fp) or {},
                        fingerprint=fp,
                        group_id=ctx.group.id,
                        detail={"by": list(by)},
                    )
                )
        self._history.record_many(entries, deferred=True)
        return ctx
