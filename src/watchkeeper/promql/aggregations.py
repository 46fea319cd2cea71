"""Aggregation operators: ``sum``, ``avg``, ``count``, ``min``, ``max``, ``group``,
``stddev``, ``stdvar``, ``topk``, ``bottomk``, ``quantile`` and ``count_values``, with
``by``/``without``. Rows are grouped once; every step is reduced at the same time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import METRIC_NAME, Labels, is_valid_label_name
from watchkeeper.promql import windows as w
from watchkeeper.promql.ast import Aggregate
from watchkeeper.promql.model import BOOL, F64, I64, Steps, StringValue, Value
from watchkeeper.promql.values import format_value

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator


class Groups:
    """Rows of a vector assigned to groups (in order of first appearance)."""

    def __init__(self, gid: I64, labels: list[Labels]) -> None:
        self.gid = gid
        self.labels = labels
        self.order = np.argsort(gid, kind="stable")
        sorted_gid = gid[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_gid[1:] != sorted_gid[:-1]])
        self.sizes = np.diff(np.r_[self.starts, gid.shape[0]])

    @property
    def count(self) -> int:
        return len(self.labels)


def group_rows(labels: list[Labels], grouping: tuple[str, ...], without: bool) -> Groups:
    index: dict[tuple[tuple[str, str], ...], int] = {}
    gid = np.empty(len(labels), dtype=np.int64)
    out: list[Labels] = []
    if without:
        drop = {*grouping, METRIC_NAME}
        for i, lab in enumerate(labels):
            key = tuple(kv for kv in lab.items_tuple if kv[0] not in drop)
            g = index.get(key)
            if g is None:
                g = index[key] = len(out)
                out.append(Labels.from_sorted_items(key))
            gid[i] = g
    else:
        names = sorted(set(grouping))
        for i, lab in enumerate(labels):
            key = tuple((n, lab.get(n, "")) for n in names)
            g = index.get(key)
            if g is None:
                g = index[key] = len(out)
                out.append(Labels.from_sorted_items(tuple(kv for kv in key if kv[1])))
            gid[i] = g
    return Groups(gid, out)


def aggregate(ev: Evaluator, node: Aggregate, times: I64) -> Value:
    op = node.op
    if op in ("limitk", "limit_ratio"):
        raise QueryError(f"{op} is a Prometheus 3 aggregation and is not supported")
    param: F64 | None = None
    label_param = ""
    if op in ("topk", "bottomk", "quantile"):
        if node.param is None:
            raise QueryError(f"{op} needs a parameter")
        param = ev.eval_scalar(node.param, times).values
    elif op == "count_values":
        value = ev.eval(node.param, times) if node.param is not None else None
        if not isinstance(value, StringValue):
            raise QueryError("count_values needs a string parameter (the label name)")
        label_param = value.value
        if not is_valid_label_name(label_param):
            raise QueryError(f"invalid label name {label_param!r} for count_values")
    v = ev.eval_steps(node.expr, times)
    k = times.shape[0]
    if op == "count_values":
        return _count_values(v, node, label_param)
    if v.n == 0:
        return Steps.empty(k)
    groups = group_rows(v.labels, node.grouping, node.without)
    if op in ("topk", "bottomk"):
        if param is None:
            raise QueryError(f"{op} needs a parameter")
        return _top(v, groups, param, largest=op == "topk")
    values, present = _reduce(op, v, groups, param)
    out = Steps(groups.labels, values, present)
    ev.ctx.account_steps(out)
    return out


def _reduce(op: str, v: Steps, groups: Groups, param: F64 | None) -> tuple[F64, BOOL]:
    order = groups.order
    starts = groups.starts
    pres = v.present[order]
    vals = v.values[order]
    counts = np.add.reduceat(pres.astype(np.int64), starts, axis=0)
    present = counts > 0
    if op == "count":
        return counts.astype(np.float64), present
    if op == "group":
        return np.ones(counts.shape), present
    if op in ("sum", "avg"):
        sums = _column_sums(np.where(pres, vals, 0.0), starts, pres.shape[0])
        if op == "sum":
            return sums, present
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = sums / np.maximum(counts, 1)
            overflow = present & np.isinf(avg)
            if overflow.any():
                scaled = np.where(pres, vals / np.maximum(counts, 1)[_row_group(groups)], 0.0)
                redo = _column_sums(scaled, starts, pres.shape[0])
                avg = np.where(overflow, redo, avg)
        return avg, present
    if op in ("min", "max"):
        ufunc = np.fmin if op == "min" else np.fmax
        masked = np.where(pres, vals, np.nan)
        return ufunc.reduceat(masked, starts, axis=0), present
    if op in ("stddev", "stdvar"):
        row_group = _row_group(groups)
        first_row = np.where(pres, np.arange(pres.shape[0])[:, None], pres.shape[0])
        first_idx = np.minimum.reduceat(first_row, starts, axis=0)
        padded = np.vstack([vals, np.zeros((1, vals.shape[1]))])
        shift = np.take_along_axis(padded, first_idx, axis=0)
        shifted = np.where(pres, vals - shift[row_group], 0.0)
        n = np.maximum(counts, 1)
        with np.errstate(invalid="ignore"):
            mean = np.add.reduceat(shifted, starts, axis=0) / n
            dev = np.where(pres, shifted - mean[row_group], 0.0)
            var = np.add.reduceat(dev * dev, starts, axis=0) / n
        return (np.sqrt(var) if op == "stddev" else var), present
    if op == "quantile":
        if param is None:
            raise QueryError("quantile needs a parameter")
        out = np.zeros(counts.shape)
        for g in range(groups.count):
            a, b = int(starts[g]), int(starts[g] + groups.sizes[g])
            out[g] = w.quantile_rows(param, vals[a:b].T, pres[a:b].T)
        return out, present
    raise QueryError(f"unknown aggregation {op!r}")


def _row_group(groups: Groups) -> I64:
    """Group index of each row in sorted (grouped) order."""
    return np.repeat(np.arange(groups.count), groups.sizes)


def _column_sums(sorted_vals: F64, starts: I64, n: int) -> F64:
    """Per group and step sums with the same precision safeguards as range sums."""
    k = sorted_vals.shape[1]
    data = np.ascontiguousarray(sorted_vals.T).ravel()
    ends = np.r_[starts[1:], n]
    base = (np.arange(k, dtype=np.int64) * n)[None, :]
    lo = starts[:, None] + base
    hi = ends[:, None] + base
    return w.window_sums(data, lo, hi)


def _top(v: Steps, groups: Groups, param: F64, *, largest: bool) -> Steps:
    with np.errstate(invalid="ignore"):
        kk = np.where(np.isnan(param), 0, np.clip(param, -(2.0**62), 2.0**62)).astype(np.int64)
    nan = np.isnan(v.values)
    key = np.where(nan | ~v.present, 0.0, -v.values if largest else v.values)
    category = np.where(~v.present, 2, np.where(nan, 1, 0))
    selected = np.zeros(v.present.shape, dtype=bool)
    rank_first = np.zeros(v.n, dtype=np.int64)
    for g in range(groups.count):
        a = int(groups.starts[g])
        rows = groups.order[a : a + int(groups.sizes[g])]
        order = np.lexsort((key[rows], category[rows]), axis=0)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(rows.shape[0])[:, None], axis=0)
        selected[rows] = (ranks < kk[None, :]) & v.present[rows]
        rank_first[rows] = ranks[:, 0]
    keep: BOOL = np.asarray(selected.any(axis=1), dtype=bool)
    out_rows = []
    for g in range(groups.count):
        a = int(groups.starts[g])
        rows = groups.order[a : a + int(groups.sizes[g])]
        rows = rows[keep[rows]]
        out_rows.extend(rows[np.argsort(rank_first[rows], kind="stable")].tolist())
    idx = np.asarray(out_rows, dtype=np.int64)
    return Steps([v.labels[i] for i in out_rows], v.values[idx], selected[idx])


def _count_values(v: Steps, node: Aggregate, label: str) -> Steps:
    k = v.k
    rows, cols = np.nonzero(v.present)
    if rows.shape[0] == 0:
        return Steps.empty(k)
    uniq, inverse = np.unique(v.values[rows, cols], return_inverse=True)
    texts = [format_value(x) for x in uniq.tolist()]
    drop = {*node.grouping, METRIC_NAME}
    keep = set(node.grouping)
    index: dict[Labels, int] = {}
    out_labels: list[Labels] = []
    cell_out = np.empty(rows.shape[0], dtype=np.int64)
    cache: dict[tuple[int, int], int] = {}
    for c, (r, u) in enumerate(zip(rows.tolist(), inverse.tolist(), strict=True)):
        slot = cache.get((r, u))
        if slot is None:
            lab = v.labels[r].merged({label: texts[u]})
            lab = lab.without(*drop) if node.without else lab.only(*keep, label)
            slot = index.get(lab)
            if slot is None:
                slot = index[lab] = len(out_labels)
                out_labels.append(lab)
            cache[(r, u)] = slot
        cell_out[c] = slot
    counts = np.zeros((len(out_labels), k))
    np.add.at(counts, (cell_out, cols), 1.0)
    return Steps(out_labels, counts, counts > 0)
