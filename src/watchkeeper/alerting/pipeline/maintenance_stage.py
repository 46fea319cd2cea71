"""Drops alerts that an active maintenance window covers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.pipeline.stage import MuteKind, NotifyContext, mute_alerts


class MaintenanceMuter(Protocol):
    def muting(self, alert: Alert, now: float) -> Sequence[str]: ...


class MaintenanceStage:
    def __init__(self, windows: MaintenanceMuter) -> None:
        self._windows = windows

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        return mute_alerts(ctx, MuteKind.MAINTENANCE, lambda a: self._windows.muting(a, ctx.now))
