"""One recording rule: evaluate, rename to the record name, add the rule's labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.rules.alerting_rule import RuleEvaluationError
from watchkeeper.rules.model import RuleConfig


@dataclass(slots=True)
class RecordingRule:
    config: RuleConfig
    group_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.name

    def identity(self) -> tuple[Any, ...]:
        return (self.config.name, self.config.expr, tuple(sorted(self.config.labels.items())))

    def evaluate(
        self, results: Sequence[tuple[Labels, float]], *, limit: int = 0
    ) -> list[tuple[Labels, float]]:
        extra = {**self.group_labels, **self.config.labels, METRIC_NAME: self.name}
        out: list[tuple[Labels, float]] = []
        seen: set[Labels] = set()
        for labels, value in results:
            new = labels.merged(extra)
            if new in seen:
                raise RuleEvaluationError(
                    "vector contains metrics with the same labelset after applying rule labels"
                )
            seen.add(new)
            out.append((new, value))
        if limit and len(out) > limit:
            raise RuleEvaluationError(f"exceeded limit of {limit} with {len(out)} series")
        return out
