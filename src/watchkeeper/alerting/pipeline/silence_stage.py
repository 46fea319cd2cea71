"""Drops alerts that an active silence matches."""

from __future__ import annotations

from watchkeeper.alerting.pipeline.stage import MuteKind, NotifyContext, mute_alerts
from watchkeeper.alerting.silences import Silences


class SilenceStage:
    def __init__(self, silences: Silences) -> None:
        self._silences = silences

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        return mute_alerts(ctx, MuteKind.SILENCED, lambda a: self._silences.muting(a, ctx.now))
