"""``label_replace``, ``label_join`` and the experimental ``sort_by_label*``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import Labels, is_valid_label_name
from watchkeeper.core.regex import compile_go
from watchkeeper.promql.ast import Call, Node, StringLiteral
from watchkeeper.promql.model import DUPLICATE_LABELSET, I64, Steps, Value

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")


def _string_arg(node: Node, func: str) -> str:
    if isinstance(node, StringLiteral):
        return node.value
    raise QueryError(f"{func}() expects string literals for its label arguments")


def expand_template(template: str, match: re.Match[str]) -> str:
    """Go's ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        rest = template[i + 1 :]
        if rest.startswith("$"):
            out.append("$")
            i += 2
            continue
        name: str | None = None
        consumed = 0
        if rest.startswith("{"):
            close = rest.find("}")
            if close > 1 and _NAME_CHARS.fullmatch(rest[1:close]):
                name = rest[1:close]
                consumed = close + 1
        else:
            found = _NAME_CHARS.match(rest)
            if found:
                name = found.group(0)
                consumed = len(name)
        if name is None:
            out.append("$")
            i += 1
            continue
        out.append(_group(match, name))
        i += 1 + consumed
    return "".join(out)


def _group(match: re.Match[str], name: str) -> str:
    try:
        value = match.group(int(name)) if name.isdigit() else match.group(name)
    except IndexError:
        return ""
    return value or ""


def _compile(regex: str) -> re.Pattern[str]:
    try:
        return compile_go(regex)
    except (ValueError, re.error) as exc:
        raise QueryError(
            f"invalid regular expression in label_replace(): {regex} ({exc})"
        ) from None


def _unique_or_fail(steps: Steps) -> Steps:
    seen: set[Labels] = set()
    for lab in steps.labels:
        if lab in seen:
            raise QueryError(f"{DUPLICATE_LABELSET}: {lab}")
        seen.add(lab)
    return steps


def label_replace(ev: Evaluator, node: Call, times: I64) -> Value:
    dst, repl, src, regex = (_string_arg(a, "label_replace") for a in node.args[1:5])
    pattern = _compile(regex)
    if not is_valid_label_name(dst):
        raise QueryError(f"invalid destination label name in label_replace(): {dst}")
    v = ev.eval_steps(node.args[0], times).compact()
    labels = []
    for lab in v.labels:
        found = pattern.match(lab.get(src, ""))
        if found is None:
            labels.append(lab)
        else:
            labels.append(lab.merged({dst: expand_template(repl, found)}))
    return _unique_or_fail(v.with_labels(labels))


def label_join(ev: Evaluator, node: Call, times: I64) -> Value:
    strings = [_string_arg(a, "label_join") for a in node.args[1:]]
    dst, sep, sources = strings[0], strings[1], strings[2:]
    for src in sources:
        if not is_valid_label_name(src):
            raise QueryError(f"invalid source label name in label_join(): {src}")
    if not is_valid_label_name(dst):
        raise QueryError(f"invalid destination label name in label_join(): {dst}")
    v = ev.eval_steps(node.args[0], times).compact()
    labels = [lab.merged({dst: sep.join(lab.get(s, "") for s in sources)}) for lab in v.labels]
    return _unique_or_fail(v.with_labels(labels))


_NATURAL = re.compile(r"(\d+)")


def _natural_key(value: str) -> tuple[tuple[int, int | str], ...]:
    parts = _NATURAL.split(value)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p != "")


def sort_by_label(*, descending: bool) -> Callable[[Evaluator, Call, I64], Value]:
    def impl(ev: Evaluator, node: Call, times: I64) -> Value:
        v = ev.eval_steps(node.args[0], times)
        names = [_string_arg(a, "sort_by_label") for a in node.args[1:]]
        if v.k != 1 or v.n < 2:
            return v
        # Sorted by value first (NaN last), then stably by the labels, as Prometheus 2.53.
        from watchkeeper.promql.functions import value_order

        order = value_order(v, descending=descending).tolist()
        rows = [i for i in order if bool(v.present[i, 0])]

        def key(i: int) -> tuple[object, ...]:
            lab = v.labels[i]
            return tuple(_natural_key(lab.get(n, "")) for n in names)

        rows.sort(key=key, reverse=descending)
        return v.take(np.asarray(rows, dtype=np.int64))

    return impl
