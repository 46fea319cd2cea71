"""One alerting rule and its alert instances: the state machine of Prometheus'
``AlertingRule.Eval`` (inactive -> pending -> firing -> resolved, ``for``,
``keep_firing_for``, 15-minute retention of resolved alerts) plus Watchkeeper's hysteresis
counted in evaluations (``fire_after_consecutive`` / ``resolve_after_consecutive``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.alerting.model import fingerprint
from watchkeeper.core.enums import AlertState
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.rules.model import RuleConfig
from watchkeeper.rules.template import TemplateRenderer

RESOLVED_RETENTION_S = 15 * 60
ALERT_NAME = "alertname"


class RuleEvaluationError(Exception):
    """The rule's result cannot be turned into alerts (reported as rule health)."""


@dataclass(slots=True)
class ActiveAlert:
    labels: Labels
    annotations: dict[str, str]
    state: AlertState
    value: float
    active_at: float
    fired_at: float | None = None
    resolved_at: float | None = None
    last_sent_at: float | None = None
    keep_firing_since: float | None = None
    valid_until: float = 0.0
    misses: int = 0  # consecutive evaluations without the condition (hysteresis)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    def to_record(self) -> dict[str, Any]:
        return {
            "labels": self.labels.to_dict(),
            "annotations": dict(self.annotations),
            "state": self.state.value,
            "value": self.value,
            "active_at": self.active_at,
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
            "last_sent_at": self.last_sent_at,
            "keep_firing_since": self.keep_firing_since,
            "misses": self.misses,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> ActiveAlert:
        return cls(
            labels=Labels(rec["labels"]),
            annotations=dict(rec["annotations"]),
            state=AlertState(rec["state"]),
            value=float(rec["value"]),
            active_at=float(rec["active_at"]),
            fired_at=rec.get("fired_at"),
            resolved_at=rec.get("resolved_at"),
            last_sent_at=rec.get("last_sent_at"),
            keep_firing_since=rec.get("keep_firing_since"),
            misses=int(rec.get("misses", 0)),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    rule: str
    labels: Labels
    old: AlertState
    new: AlertState
    at: float
    value: float
    annotations: Mapping[str, str]


@dataclass(slots=True)
class AlertingRule:
    config: RuleConfig
    group_labels: Mapping[str, str] = field(default_factory=dict)
    active: dict[str, ActiveAlert] = field(default_factory=dict)
    streaks: dict[str, int] = field(default_factory=dict)  # condition held, not yet active
    # Until this evaluation time, alerts missing from the results are held as they are
    # (neither resolved nor dropped): set when a new cluster leader restores the alerts
    # its predecessor left, while samples collected just before the takeover may not
    # have reached this instance's store yet.
    hold_until: float = 0.0

    @property
    def name(self) -> str:
        return self.config.name

    def identity(self) -> tuple[Any, ...]:
        """What must stay equal for a reload to keep this rule's alert state."""
        c = self.config
        return (c.name, c.expr, tuple(sorted(c.labels.items())), c.for_, c.keep_firing_for)

    def evaluate(
        self,
        results: Sequence[tuple[Labels, float]],
        ts: float,
        renderer: TemplateRenderer,
        *,
        external_labels: Mapping[str, str],
        external_url: str,
        limit: int = 0,
    ) -> list[Transition]:
        cfg = self.config
        seen: dict[str, tuple[Labels, dict[str, str], float]] = {}
        for sample_labels, value in results:
            base = sample_labels.without(METRIC_NAME)
            extra = {
                k: renderer.render(
                    v,
                    labels=base,
                    value=value,
                    external_labels=external_labels,
                    external_url=external_url,
                )
                for k, v in {**self.group_labels, **cfg.labels}.items()
            }
            labels = base.merged(extra).with_(**{ALERT_NAME: self.name})
            fp = fingerprint(labels)
            if fp in seen:
                raise RuleEvaluationError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            annotations = {
                k: renderer.render(
                    v,
                    labels=base,
                    value=value,
                    external_labels=external_labels,
                    external_url=external_url,
                )
                for k, v in cfg.annotations.items()
            }
            seen[fp] = (labels, annotations, value)
        if limit and len(seen) > limit:
            raise RuleEvaluationError(f"exceeded limit of {limit} with {len(seen)} alerts")

        transitions: list[Transition] = []
        # Hysteresis on the firing edge: count consecutive evaluations that hold.
        for fp in list(self.streaks):
            if fp not in seen:
                del self.streaks[fp]
        for fp, (labels, annotations, value) in seen.items():
            alert = self.active.get(fp)
            if alert is not None and alert.state is not AlertState.INACTIVE:
                alert.value = value
                alert.annotations = annotations
                alert.labels = labels
                alert.misses = 0
                alert.keep_firing_since = None
                continue
            streak = self.streaks.get(fp, 0) + 1
            if streak < cfg.fire_after_consecutive:
                self.streaks[fp] = streak
                continue
            self.streaks.pop(fp, None)
            self.active[fp] = ActiveAlert(
                labels=labels,
                annotations=annotations,
                state=AlertState.PENDING,
                value=value,
                active_at=ts,
            )
            old = alert.state if alert is not None else AlertState.INACTIVE
            transitions.append(
                self._transition(labels, old, AlertState.PENDING, ts, value, annotations)
            )

        for fp, alert in list(self.active.items()):
            if fp in seen:
                continue
            if alert.state is AlertState.INACTIVE:
                if alert.resolved_at is not None and ts - alert.resolved_at > RESOLVED_RETENTION_S:
                    del self.active[fp]
                continue
            if ts < self.hold_until:
                continue
            alert.misses += 1
            if alert.state is AlertState.FIRING:
                if cfg.keep_firing_for > 0:
                    if alert.keep_firing_since is None:
                        alert.keep_firing_since = ts
                    if ts - alert.keep_firing_since < cfg.keep_firing_for:
                        continue
                if alert.misses < cfg.resolve_after_consecutive:
                    continue
            if alert.state is AlertState.PENDING:
                del self.active[fp]
                transitions.append(
                    self._transition(
                        alert.labels,
                        AlertState.PENDING,
                        AlertState.INACTIVE,
                        ts,
                        alert.value,
                        alert.annotations,
                    )
                )
                continue
            alert.state = AlertState.INACTIVE
            alert.resolved_at = ts
            transitions.append(
                self._transition(
                    alert.labels,
                    AlertState.FIRING,
                    AlertState.RESOLVED,
                    ts,
                    alert.value,
                    alert.annotations,
                )
            )

        for alert in self.active.values():
            if alert.state is AlertState.PENDING and ts - alert.active_at >= cfg.for_:
                alert.state = AlertState.FIRING
                alert.fired_at = ts
                transitions.append(
                    self._transition(
                        alert.labels,
                        AlertState.PENDING,
                        AlertState.FIRING,
                        ts,
                        alert.value,
                        alert.annotations,
                    )
                )
        return transitions

    def _transition(
        self,
        labels: Labels,
        old: AlertState,
        new: AlertState,
        ts: float,
        value: float,
        annotations: Mapping[str, str],
    ) -> Transition:
        return Transition(self.name, labels, old, new, ts, value, dict(annotations))

    def alerts(self) -> list[ActiveAlert]:
        return sorted(self.active.values(), key=lambda a: a.labels)

    def state(self) -> AlertState:
        """The rule's overall state: firing if any alert fires, else pending, else inactive."""
        states = {a.state for a in self.active.values()}
        for candidate in (AlertState.FIRING, AlertState.PENDING):
            if candidate in states:
                return candidate
        return AlertState.INACTIVE
