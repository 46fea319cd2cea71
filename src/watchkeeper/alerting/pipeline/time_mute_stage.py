"""Stops the flush of a route while one of its ``mute_time_intervals`` holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from watchkeeper.alerting.pipeline.stage import NotifyContext
from watchkeeper.alerting.timeintervals import TimeIntervalSet


class TimeMuteStage:
    def __init__(self, intervals: Callable[[], Mapping[str, TimeIntervalSet]]) -> None:
        self._intervals = intervals

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        names = ctx.group.route.opts.mute_time_intervals
        if not names:
            return ctx
        intervals = self._intervals()
        if any(intervals[n].contains(ctx.now) for n in names if n in intervals):
            return ctx.stop()
        return ctx
