"""The anomaly rule kind: a series (or PromQL expression) in, an ``anomaly_score`` series
out, and an alert when the score reaches the rule's threshold.

:class:`AnomalyRuleConfig` is the config model. :class:`AnomalyEvaluator` keeps one
detector per output series, keyed by its labels: the rules stage feeds it each new
``(labels, timestamp, value)`` sample of the expression's result and stores the returned
score as ``anomaly_score{anomaly_rule="<name>", <series labels>}``; the alert state
machine (``for``, ``keep_firing_for``, flap control) works on that score like on any
alerting rule whose condition is ``anomaly_score >= threshold``.

A sample at the same timestamp as the series' previous one returns the previous score
(rules may evaluate one sample twice: on their interval and when it arrives); an older
one is dropped. :meth:`AnomalyEvaluator.state` saves every detector as JSON-able data so
learning survives restarts; after a change of detector or params the saved state no
longer applies and learning starts again (restore says so instead of failing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from pydantic import Field, field_validator, model_validator

from watchkeeper.anomaly.base import Detector, DetectorStateError, FloatArray, as_series
from watchkeeper.anomaly.registry import (
    DEFAULT_DETECTOR,
    create_detector,
    detector_from_state,
    validate_params,
)
from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration
from watchkeeper.core.errors import ConfigError, LimitExceededError, QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels, is_valid_label_name

SCORE_METRIC = "anomaly_score"
RULE_LABEL = "anomaly_rule"
EVALUATOR_STATE_VERSION = 1


class AnomalyRuleConfig(StrictModel):
    """One anomaly rule. ``expr`` is a series selector or any PromQL expression."""

    score_metric: ClassVar[str] = SCORE_METRIC

    name: str = Field(description="alert name; also the anomaly_rule label of the scores")
    expr: str = Field(min_length=1, description="series selector or PromQL expression to score")
    detector: str = Field(default=DEFAULT_DETECTOR, description="registry name of the detector")
    params: dict[str, Any] = Field(default_factory=dict, description="detector parameters")
    threshold: float = Field(default=0.5, gt=0.0, le=1.0, description="alert when score >= this")
    for_: Duration = Field(default=Duration(0), alias="for")
    keep_firing_for: Duration = Field(default=Duration(0))
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    max_series: int = Field(
        default=10_000, ge=1, description="most series one rule may score at a time"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an anomaly rule needs a non-empty name")
        return value

    @model_validator(mode="after")
    def _detector_and_labels(self) -> AnomalyRuleConfig:
        try:
            validate_params(self.detector, self.params)
        except ConfigError as exc:
            raise ValueError("; ".join(exc.problems)) from None
        for name in self.labels:
            if not is_valid_label_name(name):
                raise ValueError(f"invalid label name {name!r} in labels")
        return self

    def build_detector(self) -> Detector:
        return create_detector(self.detector, self.params)

    def detector_settings(self) -> dict[str, Any]:
        """The detector name and its full params (defaults filled in)."""
        return {
            "detector": self.detector,
            "params": validate_params(self.detector, self.params).model_dump(),
        }


@dataclass(frozen=True, slots=True)
class AnomalyScore:
    labels: Labels  # the output series: anomaly_score{anomaly_rule=..., ...}
    source: Labels  # the scored series
    timestamp: float  # seconds since the epoch
    value: float  # the scored sample's value
    score: float
    above_threshold: bool


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored: int
    discarded: int
    reasons: tuple[str, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class _Series:
    source: Labels
    detector: Detector
    last_timestamp: float | None = None
    last_score: float = 0.0


class AnomalyEvaluator:
    """Scores the series of one anomaly rule; one detector per output series."""

    def __init__(self, rule: AnomalyRuleConfig) -> None:
        self._rule = rule
        self._series: dict[Labels, _Series] = {}

    @property
    def rule(self) -> AnomalyRuleConfig:
        return self._rule

    def output_labels(self, source: Mapping[str, str]) -> Labels:
        """``anomaly_score{anomaly_rule="<rule>", <source labels without __name__>}``."""
        labels = dict(source)
        labels.pop(METRIC_NAME, None)
        labels[RULE_LABEL] = self._rule.name
        labels[METRIC_NAME] = SCORE_METRIC
        return Labels(labels)

    def _entry(self, source: Mapping[str, str]) -> tuple[Labels, _Series]:
        src = source if isinstance(source, Labels) else Labels(source)
        out = self.output_labels(src)
        entry = self._series.get(out)
        if entry is None:
            if len(self._series) >= self._rule.max_series:
                raise LimitExceededError(
                    f"anomaly rule {self._rule.name!r} already scores {len(self._series)} "
                    f"series (max_series); narrow its expr or raise max_series"
                )
            entry = _Series(source=src, detector=self._rule.build_detector())
            self._series[out] = entry
        elif entry.source != src:
            raise QueryError(
                f"anomaly rule {self._rule.name!r}: series {entry.source} and {src} both map "
                f"to {out}; make the expression return distinct label sets"
            )
        return out, entry

    def observe(
        self, source: Mapping[str, str], timestamp: float, value: float
    ) -> AnomalyScore | None:
        """Score one new sample; ``None`` when it is older than the series' last one."""
        out, entry = self._entry(source)
        ts = float(timestamp)
        if entry.last_timestamp is not None:
            if ts < entry.last_timestamp:
                return None
            if ts == entry.last_timestamp:
                return self._result(out, entry, ts, value, entry.last_score)
        score = entry.detector.update(ts, value)
        entry.last_timestamp = ts
        entry.last_score = score
        return self._result(out, entry, ts, value, score)

    def observe_many(
        self, samples: Iterable[tuple[Mapping[str, str], float, float]]
    ) -> list[AnomalyScore]:
        """Score samples in the order given; samples that are too old are left out."""
        results = []
        for source, ts, value in samples:
            result = self.observe(source, ts, value)
            if result is not None:
                results.append(result)
        return results

    def backfill(
        self, source: Mapping[str, str], timestamps: ArrayLike, values: ArrayLike
    ) -> FloatArray:
        """Score a stretch of one series at once (vectorised); same scores as ``observe``.

        Timestamps must increase. Samples at or before the series' last timestamp score 0
        and are not learnt from.
        """
        _, entry = self._entry(source)
        t, v = as_series(timestamps, values)
        if np.any(np.diff(t) <= 0):
            raise ValueError("backfill timestamps must increase from one sample to the next")
        scores = np.zeros(len(t))
        fresh = np.ones(len(t), dtype=bool)
        if entry.last_timestamp is not None:
            fresh = t > entry.last_timestamp
        if fresh.any():
            scores[fresh] = entry.detector.score_batch(t[fresh], v[fresh])
            entry.last_timestamp = float(t[fresh][-1])
            entry.last_score = float(scores[fresh][-1])
        return scores

    def _result(
        self, out: Labels, entry: _Series, ts: float, value: float, score: float
    ) -> AnomalyScore:
        return AnomalyScore(
            labels=out,
            source=entry.source,
            timestamp=ts,
            value=float(value),
            score=score,
            above_threshold=score >= self._rule.threshold,
        )

    def series(self) -> list[Labels]:
        """The output series currently scored."""
        return sorted(self._series)

    def forget(self, source: Mapping[str, str]) -> bool:
        """Drop the detector of one series (e.g. when the series is deleted)."""
        return self._series.pop(self.output_labels(source), None) is not None

    def drop_stale(self, before: float) -> int:
        """Drop series whose last sample is older than ``before``; returns how many."""
        stale = [
            k
            for k, e in self._series.items()
            if e.last_timestamp is None or e.last_timestamp < before
        ]
        for key in stale:
            del self._series[key]
        return len(stale)

    # ----------------------------------------------------------------- persistence
    def state(self) -> dict[str, Any]:
        """Every series' detector state and last sample, as JSON-able data."""
        return {
            "kind": "anomaly_rule",
            "version": EVALUATOR_STATE_VERSION,
            "rule": self._rule.name,
            **self._rule.detector_settings(),
            "series": [
                {
                    "source": e.source.to_dict(),
                    "last_timestamp": e.last_timestamp,
                    "last_score": e.last_score,
                    "state": e.detector.state(),
                }
                for e in self._series.values()
            ],
        }

    def restore(self, state: Mapping[str, Any]) -> RestoreResult:
        """Load a :meth:`state`. Series that no longer fit the rule are discarded, with why.

        Raises :class:`DetectorStateError` when ``state`` is not an evaluator state at all.
        """
        if not isinstance(state, Mapping) or state.get("kind") != "anomaly_rule":
            raise DetectorStateError("not an anomaly rule state (expected kind 'anomaly_rule')")
        if state.get("version") != EVALUATOR_STATE_VERSION:
            raise DetectorStateError(
                f"anomaly rule state version {state.get('version')!r} is not supported"
            )
        entries = state.get("series")
        if not isinstance(entries, list):
            raise DetectorStateError("an anomaly rule state needs a 'series' list")
        settings = self._rule.detector_settings()
        saved = {"detector": state.get("detector"), "params": state.get("params")}
        if saved != settings:
            return RestoreResult(
                restored=0,
                discarded=len(entries),
                reasons=(
                    f"the saved state is for detector {saved['detector']!r} with params "
                    f"{saved['params']!r}; the rule now uses {settings['detector']!r} with "
                    f"{settings['params']!r}, so learning starts again",
                ),
            )
        restored: dict[Labels, _Series] = {}
        reasons: list[str] = []
        for i, item in enumerate(entries):
            try:
                entry = self._restore_entry(item)
            except DetectorStateError as exc:
                reasons.append(f"series {i}: {exc}")
                continue
            restored[self.output_labels(entry.source)] = entry
        if len(restored) > self._rule.max_series:
            reasons.append(
                f"{len(restored) - self._rule.max_series} series over max_series were dropped"
            )
            restored = dict(list(restored.items())[: self._rule.max_series])
        self._series = restored
        return RestoreResult(
            restored=len(restored), discarded=len(entries) - len(restored), reasons=tuple(reasons)
        )

    @staticmethod
    def _restore_entry(item: Any) -> _Series:
        if not isinstance(item, Mapping):
            raise DetectorStateError("expected an object")
        source = item.get("source")
        if not isinstance(source, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in source.items()
        ):
            raise DetectorStateError("'source' must map label names to values")
        last_ts = item.get("last_timestamp")
        last_score = item.get("last_score", 0.0)
        if last_ts is not None and not isinstance(last_ts, int | float):
            raise DetectorStateError("'last_timestamp' must be a number or null")
        if not isinstance(last_score, int | float) or not 0.0 <= last_score <= 1.0:
            raise DetectorStateError("'last_score' must be a number in [0, 1]")
        detector_state = item.get("state")
        if not isinstance(detector_state, Mapping):
            raise DetectorStateError("'state' must be a detector state object")
        return _Series(
            source=Labels(source),
            detector=detector_from_state(detector_state),
            last_timestamp=None if last_ts is None else float(last_ts),
            last_score=float(last_score),
        )
