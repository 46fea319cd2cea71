"""The engine's internal values: every expression is evaluated at all steps at once.

* :class:`Steps` — an instant vector at ``k`` evaluation times: one row per series,
  ``values[n, k]`` and a ``present[n, k]`` mask (NaN is a value, so presence is separate).
* :class:`ScalarSteps` — a scalar at each evaluation time.
* :class:`StringValue` — a string literal.
* :class:`Ranges` — a range vector at ``k`` evaluation times: the samples of ``n`` series
  in one flat array (``offsets`` delimit series) plus, per series and step, the window
  ``[lo, hi)`` of sample indices that the step's range covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


@dataclass(slots=True)
class Steps:
    labels: list[Labels]
    values: F64
    present: BOOL

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def k(self) -> int:
        return int(self.values.shape[1])

    @classmethod
    def empty(cls, k: int) -> Steps:
        return cls([], np.zeros((0, k)), np.zeros((0, k), dtype=bool))

    def take(self, rows: I64 | list[int]) -> Steps:
        idx = np.asarray(rows, dtype=np.int64)
        return Steps([self.labels[i] for i in idx.tolist()], self.values[idx], self.present[idx])

    def compact(self) -> Steps:
        """Drop rows with no point at any step."""
        keep = self.present.any(axis=1)
        if bool(keep.all()):
            return self
        return self.take(np.flatnonzero(keep))

    def with_labels(self, labels: list[Labels]) -> Steps:
        return Steps(labels, self.values, self.present)


@dataclass(slots=True)
class ScalarSteps:
    values: F64


@dataclass(slots=True)
class StringValue:
    value: str


@dataclass(slots=True)
class Ranges:
    labels: list[Labels]
    offsets: I64  # n + 1
    ts: I64
    vals: F64
    lo: I64  # (n, k) absolute indices into ts/vals
    hi: I64  # (n, k)
    times: I64  # (k,) the step's evaluation time
    ends: I64  # (k,) the end of each step's window (after @ and offset)
    range_ms: int

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def k(self) -> int:
        return int(self.times.shape[0])

    def counts(self) -> I64:
        return self.hi - self.lo


Value = Steps | ScalarSteps | StringValue | Ranges


def drop_name(lab: Labels) -> Labels:
    """The label set without ``__name__`` (fast: no re-sorting)."""
    items = lab.items_tuple
    for name, _ in items:
        if name == METRIC_NAME:
            return Labels.from_sorted_items(tuple(kv for kv in items if kv[0] != METRIC_NAME))
    return lab


def drop_names(labels: list[Labels]) -> list[Labels]:
    return [drop_name(lab) for lab in labels]


def merge_same_labels(steps: Steps) -> Steps:
    """Merge rows whose label sets are equal; two of them with a point at the same step
    is the error Prometheus reports as a duplicate label set."""
    first: dict[Labels, int] = {}
    dup = False
    for i, lab in enumerate(steps.labels):
        if lab in first:
            dup = True
        else:
            first[lab] = i
    if not dup:
        return steps
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(steps.labels):
        groups.setdefault(lab, []).append(i)
    labels: list[Labels] = []
    values = np.zeros((len(groups), steps.k))
    present = np.zeros((len(groups), steps.k), dtype=bool)
    for g, (lab, rows) in enumerate(groups.items()):
        labels.append(lab)
        if len(rows) == 1:
            values[g] = steps.values[rows[0]]
            present[g] = steps.present[rows[0]]
            continue
        p = steps.present[rows]
        if bool((p.sum(axis=0) > 1).any()):
            raise QueryError(f"{DUPLICATE_LABELSET}: {lab}")
        present[g] = p.any(axis=0)
        pick = p.argmax(axis=0)
        values[g] = steps.values[np.asarray(rows)[pick], np.arange(steps.k)]
    return Steps(labels, values, present)
