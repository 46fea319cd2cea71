"""Parsing PromQL with the ``promql-parser`` package, and reading its AST.

Parse results are cached. Every parse failure becomes a :class:`QueryParseError` whose
message quotes the expression and says what is wrong with it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import timedelta
from functools import lru_cache
from typing import Any

import promql_parser as pp

from watchkeeper.core.errors import QueryParseError
from watchkeeper.core.labels import METRIC_NAME, Matcher, MatchOp

Expr = pp.Expr

_MATCH_OPS = {
    "Equal": MatchOp.EQUAL,
    "NotEqual": MatchOp.NOT_EQUAL,
    "Re": MatchOp.REGEX,
    "NotRe": MatchOp.NOT_REGEX,
}

# Stable at Prometheus 2.53 but unknown to the parser (renamed in Prometheus 3).
_EXTRA_FUNCTIONS = (
    pp.Function(
        "holt_winters",
        [pp.ValueType.Matrix, pp.ValueType.Scalar, pp.ValueType.Scalar],
        pp.ValueType.Vector,
    ),
)
_registered = False
_register_lock = threading.Lock()


def _register_extra_functions() -> None:
    global _registered
    with _register_lock:
        if _registered:
            return
        with contextlib.suppress(ValueError):  # already known to this parser build
            pp.register_extra_functions(list(_EXTRA_FUNCTIONS))
        _registered = True


def parse_raw(expr: str) -> Expr:
    """Parse a PromQL expression; raise :class:`QueryParseError` with a clear message."""
    if not isinstance(expr, str):
        raise QueryParseError(f"a PromQL expression must be a string, not {type(expr).__name__}")
    return _parse_cached(expr)


@lru_cache(maxsize=4096)
def _parse_cached(expr: str) -> Expr:
    _register_extra_functions()
    if not expr.strip():
        raise QueryParseError("empty PromQL expression: give a query such as 'up' or 'rate(x[5m])'")
    try:
        tree = pp.parse(expr)
    except ValueError as exc:
        raise QueryParseError(f"cannot parse PromQL expression {expr!r}: {exc}") from None
    except BaseException as exc:  # the parser's Rust panics derive from BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise QueryParseError(f"cannot parse PromQL expression {expr!r}: {exc}") from None
    return tree


def duration_ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return delta // timedelta(milliseconds=1)


def offset_ms(node: Any) -> int:
    return duration_ms(node.offset)


class AtKind:
    """What an ``@`` modifier pins a selector to."""

    NONE = "none"
    TIME = "time"
    START = "start"
    END = "end"


_AT_DEBUG_RE = re.compile(
    r"^        at: Some\(\s*At\(\s*SystemTime \{\s*tv_sec: (-?\d+),\s*tv_nsec: (\d+)",
    re.MULTILINE,
)


def at_modifier_ms(node: Any, text: str = "") -> tuple[str, int]:
    """(kind, timestamp in ms) of a selector's or subquery's ``@`` modifier.

    The timestamp is read from the node's debug form: the parser's Python binding cannot
    convert times before 1970 or after 9999 into a ``datetime``."""
    at = node.at
    if at is None:
        return AtKind.NONE, 0
    kind = str(at.type).rsplit(".", 1)[-1]
    if kind == "Start":
        return AtKind.START, 0
    if kind == "End":
        return AtKind.END, 0
    found = _AT_DEBUG_RE.search(repr(node))
    if found is None:
        raise QueryParseError(f"cannot read the @ timestamp in {text!r}")
    seconds, nanos = int(found.group(1)), int(found.group(2))
    return AtKind.TIME, seconds * 1000 + nanos // 1_000_000


def selector_matchers(vs: pp.VectorSelector) -> list[list[Matcher]]:
    """The matcher sets of a vector selector (more than one when ``or`` is used inside
    the braces); the metric name becomes an ``__name__`` matcher."""
    base = [_matcher(m) for m in vs.matchers.matchers]
    if vs.name:
        base.insert(0, Matcher(METRIC_NAME, MatchOp.EQUAL, vs.name))
    or_sets = vs.matchers.or_matchers
    if not or_sets:
        return [base]
    return [base + [_matcher(m) for m in group] for group in or_sets]


def _matcher(m: pp.Matcher) -> Matcher:
    op = _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]]
    try:
        return Matcher(m.name, op, m.value)
    except (ValueError, re.error) as exc:  # a pattern Python's engine cannot run
        raise QueryParseError(
            f"invalid regular expression {m.value!r} for label {m.name!r}: {exc}"
        ) from None


def token_name(op: Any) -> str:
    """The lower-case name of an operator token (``sum``, ``+``, ``and``, ...)."""
    return str(op).lower()


def function_name(node: pp.Call) -> str:
    return str(node.func.name)
