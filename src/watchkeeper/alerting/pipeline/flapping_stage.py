"""Keeps a flapping alert's changes out of notifications (it is announced once when it
starts flapping and once when it settles, outside this stage)."""

from __future__ import annotations

from watchkeeper.alerting.flapping import FlapDetector
from watchkeeper.alerting.pipeline.stage import MuteKind, NotifyContext, mute_alerts


class FlappingStage:
    def __init__(self, detector: FlapDetector) -> None:
        self._detector = detector

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        return mute_alerts(
            ctx,
            MuteKind.FLAPPING,
            lambda a: ("flapping",) if self._detector.is_flapping(a.fingerprint) else (),
        )
