"""Flap detection: an alert that changes state (firing <-> resolved) ``threshold`` times
within ``window`` is *flapping*. Alert management then notifies once that it flaps, keeps
its changes out of notifications, and notifies once more when it has been quiet for
``settle`` (its state at that moment).

The N-consecutive-failures / M-consecutive-successes hysteresis lives on the rule side;
this is the second line of defence, for alerts from any sender.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from watchkeeper.alerting.config_ext import FlappingConfig


class FlapEvent(StrEnum):
    STARTED = "started"
    ENDED = "ended"


@dataclass(slots=True)
class _FlapState:
    changes: deque[float] = field(default_factory=deque)
    since: float | None = None  # when it started flapping


class FlapDetector:
    def __init__(self, config: FlappingConfig) -> None:
        self.enabled = config.enabled
        self.window = float(config.window)
        self.threshold = config.threshold
        self.settle = float(config.settle if config.settle is not None else config.window)
        self._states: dict[str, _FlapState] = {}

    def record(self, fp: str, at: float) -> FlapEvent | None:
        """Count one state change of alert ``fp``; STARTED when it starts flapping."""
        if not self.enabled:
            return None
        state = self._states.setdefault(fp, _FlapState())
        state.changes.append(at)
        while state.changes and state.changes[0] < at - self.window:
            state.changes.popleft()
        if state.since is None and len(state.changes) >= self.threshold:
            state.since = at
            return FlapEvent.STARTED
        return None

    def is_flapping(self, fp: str) -> bool:
        state = self._states.get(fp)
        return state is not None and state.since is not None

    def since(self, fp: str) -> float | None:
        state = self._states.get(fp)
        return state.since if state is not None else None

    def settles_at(self, fp: str) -> float | None:
        """When a flapping alert settles if it does not change again."""
        state = self._states.get(fp)
        if state is None or state.since is None or not state.changes:
            return None
        return state.changes[-1] + self.settle

    def settle_if_quiet(self, fp: str, now: float) -> bool:
        """End flapping if the alert has been quiet for ``settle``; True when it ended."""
        due = self.settles_at(fp)
        if due is None or due > now:
            return False
        del self._states[fp]
        return True

    def forget_quiet(self, now: float) -> None:
        """Drop the counters of alerts that are not flapping and have been quiet a window."""
        for fp in [
            fp
            for fp, s in self._states.items()
            if s.since is None and (not s.changes or s.changes[-1] < now - self.window)
        ]:
            del self._states[fp]

    def flapping(self) -> list[str]:
        return [fp for fp, s in self._states.items() if s.since is not None]
