"""The engine's view of a parsed expression: small frozen nodes lowered once from the
``promql-parser`` AST (parsing stays with that package), with durations in milliseconds,
matchers as :class:`~watchkeeper.core.labels.Matcher`, the value type of every node and
whether it is step-invariant (pinned by ``@``) precomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import promql_parser as pp

from watchkeeper.core.errors import QueryParseError
from watchkeeper.core.labels import METRIC_NAME, Matcher, MatchOp
from watchkeeper.promql.parse import (
    AtKind,
    at_modifier_ms,
    duration_ms,
    function_name,
    parse_raw,
    selector_matchers,
    token_name,
)


class ValueType(StrEnum):
    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"
    STRING = "string"


# Functions whose result depends on the evaluation time itself (Prometheus'
# AtModifierUnsafeFunctions): never evaluated once and copied to every step.
TIME_DEPENDENT_FUNCTIONS = frozenset(
    {
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "hour",
        "minute",
        "month",
        "year",
        "predict_linear",
        "time",
        "timestamp",
    }
)


@dataclass(frozen=True, slots=True)
class At:
    kind: str  # AtKind.TIME / START / END
    ms: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    type: ValueType = field(init=False, default=ValueType.VECTOR)
    invariant: bool = field(init=False, default=False)


@dataclass(frozen=True, slots=True, eq=False)
class NumberLiteral(Node):
    value: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class StringLiteral(Node):
    value: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class VectorSelector(Node):
    name: str | None = None
    matcher_sets: tuple[tuple[Matcher, ...], ...] = ()
    offset_ms: int = 0
    at: At | None = None
    text: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class MatrixSelector(Node):
    selector: VectorSelector = field(default_factory=VectorSelector)
    range_ms: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Subquery(Node):
    expr: Node = field(default_factory=Node)
    range_ms: int = 0
    step_ms: int = 0  # 0: the engine's default subquery step
    offset_ms: int = 0
    at: At | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Call(Node):
    func: str = ""
    args: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate(Node):
    op: str = ""
    expr: Node = field(default_factory=Node)
    param: Node | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Binary(Node):
    op: str = ""
    lhs: Node = field(default_factory=Node)
    rhs: Node = field(default_factory=Node)
    return_bool: bool = False
    card: str = "one-to-one"  # one-to-one, many-to-one, one-to-many, many-to-many
    on: bool = False  # True: on(...), False: ignoring(...) or no matching clause
    matching: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Unary(Node):
    expr: Node = field(default_factory=Node)


SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISON_OPERATORS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_CARD = {
    "OneToOne": "one-to-one",
    "ManyToOne": "many-to-one",
    "OneToMany": "one-to-many",
    "ManyToMany": "many-to-many",
}
_VALUE_TYPES = {
    "Vector": ValueType.VECTOR,
    "Scalar": ValueType.SCALAR,
    "Matrix": ValueType.MATRIX,
    "String": ValueType.STRING,
}


def _set(node: Node, *, type_: ValueType, invariant: bool) -> Node:
    object.__setattr__(node, "type", type_)
    object.__setattr__(node, "invariant", invariant)
    return node


def _at(raw: Any, text: str) -> At | None:
    kind, ms = at_modifier_ms(raw, text)
    if kind == AtKind.NONE:
        return None
    return At(kind, ms)


def lower(raw: Any, text: str) -> Node:
    """Convert a ``promql-parser`` expression into engine nodes."""
    if isinstance(raw, pp.ParenExpr):
        return lower(raw.expr, text)
    if isinstance(raw, pp.NumberLiteral):
        return _set(NumberLiteral(value=float(raw.val)), type_=ValueType.SCALAR, invariant=True)
    if isinstance(raw, pp.StringLiteral):
        return _set(StringLiteral(value=str(raw.val)), type_=ValueType.STRING, invariant=True)
    if isinstance(raw, pp.VectorSelector):
        return _lower_vs(raw, text)
    if isinstance(raw, pp.MatrixSelector):
        vs = _lower_vs(raw.vector_selector, text)
        node = MatrixSelector(selector=vs, range_ms=duration_ms(raw.range))
        return _set(node, type_=ValueType.MATRIX, invariant=vs.invariant)
    if isinstance(raw, pp.SubqueryExpr):
        inner = lower(raw.expr, text)
        at = _at(raw, text)
        sub = Subquery(
            expr=inner,
            range_ms=duration_ms(raw.range),
            step_ms=duration_ms(raw.step),
            offset_ms=duration_ms(raw.offset),
            at=at,
        )
        return _set(sub, type_=ValueType.MATRIX, invariant=at is not None)
    if isinstance(raw, pp.UnaryExpr):
        inner = lower(raw.expr, text)
        return _set(Unary(expr=inner), type_=inner.type, invariant=inner.invariant)
    if isinstance(raw, pp.Call):
        return _lower_call(raw, text)
    if isinstance(raw, pp.AggregateExpr):
        return _lower_aggregate(raw, text)
    if isinstance(raw, pp.BinaryExpr):
        return _lower_binary(raw, text)
    raise QueryParseError(f"unsupported expression {type(raw).__name__} in {text!r}")


def _lower_vs(raw: pp.VectorSelector, text: str) -> VectorSelector:
    at = _at(raw, text)
    node = VectorSelector(
        name=raw.name,
        matcher_sets=tuple(tuple(group) for group in selector_matchers(raw)),
        offset_ms=duration_ms(raw.offset),
        at=at,
        text=str(raw),
    )
    for group in node.matcher_sets:
        if all(m.matches_empty() for m in group):
            raise QueryParseError(
                f"vector selector {node.text} in {text!r} must contain at least one "
                'non-empty matcher (e.g. a metric name or job="x")'
            )
    _set(node, type_=ValueType.VECTOR, invariant=at is not None)
    return node


def _lower_call(raw: pp.Call, text: str) -> Node:
    name = function_name(raw)
    args = tuple(lower(a, text) for a in raw.args)
    invariant = name not in TIME_DEPENDENT_FUNCTIONS and all(a.invariant for a in args)
    return_type = _VALUE_TYPES[str(raw.func.return_type).rsplit(".", 1)[-1]]
    return _set(Call(func=name, args=args), type_=return_type, invariant=invariant)


def _lower_aggregate(raw: pp.AggregateExpr, text: str) -> Node:
    op = token_name(raw.op)
    inner = lower(raw.expr, text)
    param = lower(raw.param, text) if raw.param is not None else None
    grouping: tuple[str, ...] = ()
    without = False
    if raw.modifier is not None:
        grouping = tuple(raw.modifier.labels)
        without = str(raw.modifier.type).endswith("Without")
    invariant = inner.invariant and (param is None or param.invariant)
    node = Aggregate(op=op, expr=inner, param=param, grouping=grouping, without=without)
    return _set(node, type_=ValueType.VECTOR, invariant=invariant)


def _lower_binary(raw: pp.BinaryExpr, text: str) -> Node:
    op = token_name(raw.op)
    lhs = lower(raw.lhs, text)
    rhs = lower(raw.rhs, text)
    return_bool = False
    card = "many-to-many" if op in SET_OPERATORS else "one-to-one"
    on = False
    matching: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    mod = raw.modifier
    if mod is not None:
        return_bool = bool(mod.return_bool)
        card = _CARD.get(str(mod.card).rsplit(".", 1)[-1].split("(")[0], card)
        if mod.matching is not None:
            on = str(mod.matching.type).endswith("Include")
            matching = tuple(mod.matching.labels)
        if mod.group_labels:
            include = tuple(mod.group_labels)
    if op in SET_OPERATORS:
        card = "many-to-many"
    both_scalar = lhs.type is ValueType.SCALAR and rhs.type is ValueType.SCALAR
    node = Binary(
        op=op,
        lhs=lhs,
        rhs=rhs,
        return_bool=return_bool,
        card=card,
        on=on,
        matching=matching,
        include=include,
    )
    type_ = ValueType.SCALAR if both_scalar else ValueType.VECTOR
    return _set(node, type_=type_, invariant=lhs.invariant and rhs.invariant)


def parse(expr: str) -> Node:
    """Parse and lower a PromQL expression (cached). Raises :class:`QueryParseError` with a
    message that quotes the expression and says what is wrong."""
    if not isinstance(expr, str):
        raise QueryParseError(f"a PromQL expression must be a string, not {type(expr).__name__}")
    return _parse_lowered(expr)


@lru_cache(maxsize=4096)
def _parse_lowered(expr: str) -> Node:
    return lower(parse_raw(expr), expr)


def walk(node: Node) -> list[Node]:
    """Every node of a tree, parents before children."""
    out: list[Node] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        out.append(cur)
        stack.extend(reversed(node_children(cur)))
    return out


def node_children(node: Node) -> list[Node]:
    if isinstance(node, MatrixSelector):
        return [node.selector]
    if isinstance(node, Subquery | Unary):
        return [node.expr]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Aggregate):
        return [node.expr] if node.param is None else [node.param, node.expr]
    if isinstance(node, Binary):
        return [node.lhs, node.rhs]
    return []


def referenced_metrics(expr: str | Node) -> set[str] | None:
    """The metric names an expression reads, or ``None`` when some selector has no fixed
    metric name (e.g. ``{job="api"}`` or ``{__name__=~"http_.*"}``)."""
    tree = parse(expr) if isinstance(expr, str) else expr
    names: set[str] = set()
    for node in walk(tree):
        if not isinstance(node, VectorSelector):
            continue
        for group in node.matcher_sets:
            fixed = [m.value for m in group if m.name == METRIC_NAME and m.op is MatchOp.EQUAL]
            if not fixed:
                return None
            names.add(fixed[0])
    return names
