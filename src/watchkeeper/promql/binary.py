"""Binary operators: arithmetic, comparisons (filtering or ``bool``), ``atan2`` and the
set operators, between scalars and vectors, with ``on``/``ignoring`` and
``group_left``/``group_right`` vector matching.

Vector matching pairs rows once; the per-step rules of Prometheus (one side unique per
match group, no duplicate output label sets) are checked on the presence masks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.promql.ast import COMPARISON_OPERATORS, SET_OPERATORS, Binary
from watchkeeper.promql.model import (
    BOOL,
    F64,
    I64,
    ScalarSteps,
    Steps,
    Value,
    drop_name,
    drop_names,
    merge_same_labels,
)

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

Sig = tuple[tuple[str, str], ...]

_ARITHMETIC: dict[str, Callable[[F64, F64], F64]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "^": np.power,
    "atan2": np.arctan2,
}
_COMPARE: dict[str, Callable[[F64, F64], BOOL]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def _apply(op: str, lhs: F64, rhs: F64) -> tuple[F64, BOOL | None]:
    """(value, keep): arithmetic gives keep=None; comparisons give lhs and the test."""
    with np.errstate(all="ignore"):
        if op in _ARITHMETIC:
            return _ARITHMETIC[op](lhs, rhs), None
        if op in _COMPARE:
            return np.broadcast_to(lhs, np.broadcast_shapes(lhs.shape, rhs.shape)), _COMPARE[op](
                lhs, rhs
            )
    raise QueryError(f"unknown binary operator {op!r}")


def evaluate(ev: Evaluator, node: Binary, times: I64) -> Value:
    lhs = ev.eval(node.lhs, times)
    rhs = ev.eval(node.rhs, times)
    if isinstance(lhs, ScalarSteps) and isinstance(rhs, ScalarSteps):
        value, keep = _apply(node.op, lhs.values, rhs.values)
        if keep is not None:
            value = keep.astype(np.float64)
        return ScalarSteps(np.asarray(value, dtype=np.float64))
    if node.op in SET_OPERATORS:
        if not isinstance(lhs, Steps) or not isinstance(rhs, Steps):
            raise QueryError(f"set operator {node.op!r} needs instant vectors on both sides")
        return _set_operation(node, lhs, rhs)
    if isinstance(lhs, Steps) and isinstance(rhs, ScalarSteps):
        return _vector_scalar(node, lhs, rhs.values, swapped=False)
    if isinstance(lhs, ScalarSteps) and isinstance(rhs, Steps):
        return _vector_scalar(node, rhs, lhs.values, swapped=True)
    if isinstance(lhs, Steps) and isinstance(rhs, Steps):
        return _vector_vector(node, lhs, rhs)
    raise QueryError(f"operator {node.op!r} needs scalars or instant vectors")


def _drops_name(node: Binary) -> bool:
    return node.return_bool or node.op not in COMPARISON_OPERATORS


def _vector_scalar(node: Binary, vec: Steps, scalar: F64, *, swapped: bool) -> Value:
    s = scalar[None, :]
    value, keep = _apply(node.op, s, vec.values) if swapped else _apply(node.op, vec.values, s)
    present = vec.present
    if keep is not None:
        if node.return_bool:
            value = keep.astype(np.float64)
        else:
            value = vec.values
            present = present & keep
    labels = drop_names(vec.labels) if _drops_name(node) else vec.labels
    out = Steps(labels, np.array(value, dtype=np.float64), present)
    return merge_same_labels(out) if _drops_name(node) else out


def signature_fn(node: Binary) -> Callable[[Labels], Sig]:
    if node.on:
        names = tuple(sorted(set(node.matching)))
        return lambda lab: tuple((n, lab.get(n, "")) for n in names)
    drop = {*node.matching, METRIC_NAME}
    return lambda lab: tuple(kv for kv in lab.items_tuple if kv[0] not in drop)


def _sig_ids(sigs: list[Sig], index: dict[Sig, int]) -> I64:
    out = np.empty(len(sigs), dtype=np.int64)
    for i, s in enumerate(sigs):
        out[i] = index.setdefault(s, len(index))
    return out


def _sig_presence(ids: I64, present: BOOL, count: int) -> BOOL:
    acc = np.zeros((count, present.shape[1]), dtype=np.int64)
    np.add.at(acc, ids, present.astype(np.int64))
    return acc > 0


def _set_operation(node: Binary, lhs: Steps, rhs: Steps) -> Value:
    sig = signature_fn(node)
    index: dict[Sig, int] = {}
    lid = _sig_ids([sig(lab) for lab in lhs.labels], index)
    rid = _sig_ids([sig(lab) for lab in rhs.labels], index)
    if node.op == "and":
        found = _sig_presence(rid, rhs.present, len(index))
        return Steps(lhs.labels, lhs.values, lhs.present & found[lid]).compact()
    if node.op == "unless":
        found = _sig_presence(rid, rhs.present, len(index))
        return Steps(lhs.labels, lhs.values, lhs.present & ~found[lid]).compact()
    left = _sig_presence(lid, lhs.present, len(index))
    extra = rhs.present & ~left[rid]
    out = Steps(
        lhs.labels + rhs.labels,
        np.vstack([lhs.values, rhs.values]),
        np.vstack([lhs.present, extra]),
    ).compact()
    return merge_same_labels(out)


def _result_labels(node: Binary, many: Labels, one: Labels) -> Labels:
    lab = drop_name(many) if _drops_name(node) else many
    if node.card == "one-to-one":
        lab = lab.only(*node.matching) if node.on else lab.without(*node.matching)
    if node.include:
        updates = {n: one.get(n, "") for n in node.include}
        lab = lab.merged(updates)
    return lab


def _vector_vector(node: Binary, lhs: Steps, rhs: Steps) -> Value:
    swapped = node.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    k = many.k
    sig = signature_fn(node)
    many_sigs = [sig(lab) for lab in many.labels]
    one_rows: dict[Sig, list[int]] = {}
    for r, lab in enumerate(one.labels):
        one_rows.setdefault(sig(lab), []).append(r)
    any_many = many.present.any(axis=0) if many.n else np.zeros(k, dtype=bool)
    side = "left" if swapped else "right"
    for s, rows in one_rows.items():
        if len(rows) > 1:
            clash = (one.present[rows].sum(axis=0) > 1) & any_many
            if clash.any():
                raise QueryError(
                    f"found duplicate series for the match group {dict(s)} on the {side} "
                    "hand-side of the operation; many-to-many matching not allowed: "
                    "matching labels must be unique on one side"
                )
    li: list[int] = []
    ri: list[int] = []
    pair_sig: list[Sig] = []
    for i, s in enumerate(many_sigs):
        for r in one_rows.get(s, ()):
            li.append(i)
            ri.append(r)
            pair_sig.append(s)
    if not li:
        return Steps.empty(k)
    lidx = np.asarray(li, dtype=np.int64)
    ridx = np.asarray(ri, dtype=np.int64)
    mv, ov = many.values[lidx], one.values[ridx]
    mask = many.present[lidx] & one.present[ridx]
    lv, rv = (ov, mv) if swapped else (mv, ov)
    value, keep = _apply(node.op, lv, rv)
    if keep is not None:
        if node.return_bool:
            value = keep.astype(np.float64)
        else:
            mask = mask & keep
    values = np.array(value, dtype=np.float64)
    if node.card == "one-to-one" and len(set(pair_sig)) < len(pair_sig):
        ids = _sig_ids(pair_sig, {})
        per_sig = np.zeros((int(ids.max()) + 1, k), dtype=np.int64)
        np.add.at(per_sig, ids, mask.astype(np.int64))
        if (per_sig > 1).any():
            raise QueryError(
                "multiple matches for labels: many-to-one matching must be explicit "
                "(group_left/group_right)"
            )
    cache: dict[tuple[int, int], Labels] = {}
    labels = []
    for i, r in zip(li, ri, strict=True):
        found = cache.get((i, r))
        if found is None:
            found = cache[(i, r)] = _result_labels(node, many.labels[i], one.labels[r])
        lab = found
        labels.append(lab)
    out = Steps(labels, values, mask).compact()
    return merge_same_labels(out)
