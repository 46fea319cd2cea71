"""Drops firing alerts of a service while a service it depends on has a firing alert.
Resolved alerts always pass: a dependency never blocks a resolution."""

from __future__ import annotations

from collections.abc import Callable

from watchkeeper.alerting.dependencies import DependencyMap
from watchkeeper.alerting.pipeline.stage import MuteKind, NotifyContext, mute_alerts


class DependencyStage:
    def __init__(
        self, dependencies: Callable[[], DependencyMap], is_firing: Callable[[str], bool]
    ) -> None:
        self._dependencies = dependencies
        self._is_firing = is_firing

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        deps = self._dependencies()
        return mute_alerts(
            ctx,
            MuteKind.SUPPRESSED,
            lambda a: deps.suppressed_by(a, ctx.now, self._is_firing, limit=3),
        )
