"""Drops alerts that a firing source alert inhibits (``inhibit_rules``)."""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.alerting.inhibit import Inhibitor
from watchkeeper.alerting.pipeline.stage import MuteKind, NotifyContext, mute_alerts


class InhibitStage:
    def __init__(
        self, inhibitor: Callable[[], Inhibitor], is_firing: Callable[[str], bool]
    ) -> None:
        self._inhibitor = inhibitor
        self._is_firing = is_firing

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        inhibitor = self._inhibitor()
        return mute_alerts(
            ctx, MuteKind.INHIBITED, lambda a: inhibitor.inhibited_by(a, ctx.now, self._is_firing)
        )
