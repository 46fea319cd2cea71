"""Prometheus alert templates (Go ``text/template`` syntax) rendered with Jinja2.

Prometheus rule files write annotations such as ``{{ $labels.instance }} is down`` or
``{{ $value | humanizePercentage }}``. Those actions are translated to Jinja2 expressions
and rendered in Jinja2's sandbox; the translation covers what alert templates use:
variables (``$labels``, ``$value``, ``$externalLabels``, ``$externalURL``, ``.Labels``,
``.Value``), pipelines, function calls with Go's argument order, ``if``/``else if``/
``else``, ``with``, ``range $k, $v := ...`` and ``end``, and Prometheus' template functions
(``humanize*``, ``printf``, ``title``, ``toUpper``, ``reReplaceAll``, ``query``,
``first``, ``value``, ``label``, …). Anything else is reported as an error at load time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ACTION_RE = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)
_TOKEN_RE = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
    r"|(?P<paren>[()])|(?P<pipe>\|)|(?P<assign>:=)|(?P<comma>,)"
    r"|(?P<word>[$.]?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\$|\.))"
)
_VARIABLES = {
    "$labels": "_labels",
    "$value": "_value",
    "$externalLabels": "_external_labels",
    "$externalURL": "_external_url",
    ".Labels": "_labels",
    ".Value": "_value",
    ".ExternalLabels": "_external_labels",
    ".ExternalURL": "_external_url",
}


class TemplateTranslationError(ValueError):
    """A template uses Go template syntax that cannot be translated."""


@dataclass(frozen=True, slots=True)
class QueryResultSample:
    labels: Mapping[str, str]
    value: float

    @property
    def Labels(self) -> Mapping[str, str]:
        return self.labels

    @property
    def Value(self) -> float:
        return self.value


def translate(template: str) -> str:
    """Translate a Go-template string to Jinja2 source. Raises TemplateTranslationError."""
    out: list[str] = []
    blocks: list[str] = []  # "if", "for", "with"
    dots: list[str] = []  # what "." means inside with/range
    pos = 0
    for m in _ACTION_RE.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        out.append(_literal(text))
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
        action = m.group(2).strip()
        if action.startswith("/*"):
            continue
        out.append(_action(action, blocks, dots))
    out.append(_literal(template[pos:]))
    if blocks:
        raise TemplateTranslationError(f"missing {{{{ end }}}} for {blocks[-1]}")
    return "".join(out)


def _literal(text: str) -> str:
    if not text:
        return ""
    return "{% raw %}" + text + "{% endraw %}" if ("{%" in text or "{#" in text) else text


def _action(action: str, blocks: list[str], dots: list[str]) -> str:
    words = action.split(None, 1)
    head = words[0] if words else ""
    rest = words[1] if len(words) > 1 else ""
    if head == "end":
        if not blocks:
            raise TemplateTranslationError("{{ end }} without an opening if/range/with")
        kind = blocks.pop()
        if kind in ("for", "with"):
            dots.pop()
        return {"if": "{% endif %}", "for": "{% endfor %}", "with": "{% endif %}{% endwith %}"}[
            kind
        ]
    if head == "if":
        blocks.append("if")
        return "{% if " + _pipeline(rest, dots) + " %}"
    if head == "else":
        if rest.startswith("if "):
            return "{% elif " + _pipeline(rest[3:], dots) + " %}"
        return "{% else %}"
    if head == "with":
        blocks.append("with")
        name = f"_dot{len(dots)}"
        dots.append(name)
        return "{% with " + name + " = " + _pipeline(rest, dots[:-1]) + " %}{% if " + name + " %}"
    if head == "range":
        m = re.match(r"^\$(\w+)\s*(?:,\s*\$(\w+))?\s*:=\s*(.+)$", rest)
        blocks.append("for")
        name = f"_dot{len(dots)}"
        if m:
            first, second, source = m.group(1), m.group(2), m.group(3)
            dots.append(f"v_{second}" if second else f"v_{first}")
            src = _pipeline(source, dots[:-1])
            if second:
                return f"{{% for v_{first}, v_{second} in _items({src}) %}}"
            return f"{{% for v_{first} in _values({src}) %}}"
        dots.append(name)
        return f"{{% for {name} in _values({_pipeline(rest, dots[:-1])}) %}}"
    if head in ("define", "template", "block", "break", "continue"):
        raise TemplateTranslationError(f"'{head}' is not supported in alert templates")
    return "{{ " + _pipeline(action, dots) + " }}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise TemplateTranslationError(f"cannot parse template action near {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _pipeline(text: str, dots: Sequence[str]) -> str:
    tokens = _tokens(text)
    expr, pos = _parse_pipeline(tokens, 0, dots)
    if pos != len(tokens):
        raise TemplateTranslationError(f"unexpected {tokens[pos][1]!r} in {text!r}")
    return expr


def _parse_pipeline(
    tokens: list[tuple[str, str]], pos: int, dots: Sequence[str]
) -> tuple[str, int]:
    commands: list[list[str]] = [[]]
    while pos < len(tokens):
        kind, tok = tokens[pos]
        if kind == "pipe":
            commands.append([])
            pos += 1
        elif kind == "paren" and tok == "(":
            inner, pos = _parse_pipeline(tokens, pos + 1, dots)
            if pos >= len(tokens) or tokens[pos] != ("paren", ")"):
                raise TemplateTranslationError("unbalanced parentheses in template")
            commands[-1].append(f"({inner})")
            pos += 1
        elif kind == "paren":
            break
        else:
            commands[-1].append(_operand(kind, tok, dots))
            pos += 1
    if any(not c for c in commands):
        raise TemplateTranslationError("empty command in template pipeline")
    result = _command(commands[0], None)
    for command in commands[1:]:
        result = _command(command, result)
    return result, pos


def _command(parts: list[str], piped: str | None) -> str:
    head, args = parts[0], parts[1:]
    if head.startswith("fn:"):
        call_args = [*args, piped] if piped is not None else args
        return f"{head[3:]}({', '.join(call_args)})"
    if args or piped is not None:
        raise TemplateTranslationError(f"{head!r} is not a function and cannot take arguments")
    return head


def _operand(kind: str, tok: str, dots: Sequence[str]) -> str:
    if kind == "str":
        return tok
    if kind == "raw":
        return repr(tok[1:-1])
    if kind == "num":
        return tok
    if kind in ("assign", "comma"):
        raise TemplateTranslationError(f"unexpected {tok!r}")
    for prefix, name in sorted(_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        if tok == prefix:
            return name
        if tok.startswith(prefix + "."):
            return name + "".join(f"[{p!r}]" for p in tok[len(prefix) + 1 :].split("."))
    if tok == ".":
        if not dots:
            raise TemplateTranslationError("'.' is only supported inside with/range")
        return dots[-1]
    if tok.startswith(".") and dots:
        return dots[-1] + "".join(f".{p}" for p in tok[1:].split("."))
    if tok.startswith("$") and len(tok) > 1:
        base, *fields = tok[1:].split(".")
        return f"v_{base}" + "".join(f".{f}" for f in fields)
    if tok in ("true", "false"):
        return "True" if tok == "true" else "False"
    if tok == "nil":
        return "None"
    if tok in _FUNCTION_NAMES:
        return "fn:" + tok
    raise TemplateTranslationError(f"unknown template function or variable {tok!r}")


# --- Prometheus' template functions -------------------------------------------------------


def _num(v: Any) -> float:
    return float(v)


def humanize(v: Any) -> str:
    x = _num(v)
    if x == 0 or math.isnan(x) or math.isinf(x):
        return f"{x:.4g}"
    if abs(x) >= 1:
        for prefix in ("", "k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(x) < 1000:
                return f"{x:.4g}{prefix}"
            x /= 1000
        return f"{x:.4g}Y"
    for prefix in ("", "m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(x) >= 1:
            return f"{x:.4g}{prefix}"
        x *= 1000
    return f"{x:.4g}y"


def humanize1024(v: Any) -> str:
    x = _num(v)
    if abs(x) <= 1 or math.isnan(x) or math.isinf(x):
        return f"{x:.4g}"
    for prefix in ("", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"):
        if abs(x) < 1024:
            return f"{x:.4g}{prefix}"
        x /= 1024
    return f"{x:.4g}Yi"


def humanize_duration(v: Any) -> str:
    x = _num(v)
    if math.isnan(x) or math.isinf(x):
        return f"{x:.4g}"
    if x == 0:
        return "0s"
    if abs(x) < 1:
        return humanize(x) + "s"
    sign = "-" if x < 0 else ""
    x = abs(x)
    days, rem = divmod(int(x), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    frac = x - int(x)
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{seconds + frac:.4g}s"


def humanize_percentage(v: Any) -> str:
    return f"{_num(v) * 100:.4g}%"


def humanize_timestamp(v: Any) -> str:
    x = _num(v)
    if math.isnan(x) or math.isinf(x):
        return f"{x:.4g}"
    return datetime.fromtimestamp(x, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f %z UTC")


def printf(fmt: str, *args: Any) -> str:
    py = re.sub(r"%v", "%s", fmt)
    try:
        return py % args
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf {fmt!r}: {exc}") from None


def _first(samples: Sequence[Any]) -> Any:
    if not samples:
        raise TemplateError("first() of an empty query result")
    return samples[0]


def _label(name: str, sample: QueryResultSample) -> str:
    return sample.labels.get(name, "")


def _value(sample: QueryResultSample) -> float:
    return sample.value


def _items(obj: Any) -> Any:
    return obj.items() if isinstance(obj, Mapping) else enumerate(obj)


def _values(obj: Any) -> Any:
    return obj.values() if isinstance(obj, Mapping) else obj


_STATIC_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
    "humanizeTimestamp": humanize_timestamp,
    "printf": printf,
    "title": lambda s: str(s).title(),
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "reReplaceAll": lambda pattern, repl, text: re.sub(
        pattern, re.sub(r"\$(\d+)", r"\\\1", repl), str(text)
    ),
    "match": lambda pattern, text: re.search(pattern, str(text)) is not None,
    "stripPort": lambda s: str(s).rsplit(":", 1)[0] if ":" in str(s) else str(s),
    "first": _first,
    "label": _label,
    "value": _value,
    "sortByLabel": lambda name, samples: sorted(samples, key=lambda s: s.labels.get(name, "")),
    "safeHtml": str,
    "pathPrefix": lambda: "",
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "and": lambda *a: all(a),
    "or": lambda *a: next((x for x in a if x), a[-1] if a else None),
    "not": lambda a: not a,
    "len": len,
    "index": lambda obj, key: obj[key],
    "query": lambda _q: [],  # replaced per render when a query function is given
}
_FUNCTION_NAMES = frozenset(_STATIC_FUNCTIONS)

QueryFunc = Callable[[str], list[QueryResultSample]]


class TemplateRenderer:
    """Compiles and renders alert templates; compiled templates are cached."""

    def __init__(self, query: QueryFunc | None = None) -> None:
        self._env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._env.globals.update(_STATIC_FUNCTIONS)
        self._env.globals["_items"] = _items
        self._env.globals["_values"] = _values
        if query is not None:
            self._env.globals["query"] = query
        self._cache: dict[str, Any] = {}

    def check(self, template: str) -> None:
        """Raise TemplateTranslationError (or a Jinja syntax error as one) if invalid."""
        self._compile(template)

    def _compile(self, template: str) -> Any:
        compiled = self._cache.get(template)
        if compiled is None:
            source = translate(template)
            try:
                compiled = self._env.from_string(source)
            except TemplateError as exc:
                raise TemplateTranslationError(f"invalid template: {exc}") from None
            self._cache[template] = compiled
        return compiled

    def render(
        self,
        template: str,
        *,
        labels: Mapping[str, str],
        value: float,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
    ) -> str:
        """Render one template. A template that fails renders as Prometheus does: an error
        text in place of the value, so an alert is never lost to a template mistake."""
        if "{{" not in template:
            return template
        try:
            compiled = self._compile(template)
            return str(
                compiled.render(
                    _labels=_LabelView(labels),
                    _value=GoFloat(value),
                    _external_labels=_LabelView(external_labels or {}),
                    _external_url=external_url,
                )
            )
        except (TemplateError, TemplateTranslationError, TypeError, ValueError, KeyError) as exc:
            return f"<error expanding template: {exc}>"


class GoFloat(float):
    """A float that prints as Go's ``%v`` does (``3``, ``0.25``, ``1.5e+06``, ``NaN``)."""

    def __str__(self) -> str:
        return go_float(self)

    __repr__ = __str__


def go_float(x: float) -> str:
    """Format like Go's ``strconv.FormatFloat(x, 'g', -1, 64)``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    mantissa, exp_text = np.format_float_scientific(x, unique=True, trim="-").split("e")
    exp = int(exp_text)
    if exp < -4 or exp >= 6:
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return np.format_float_positional(x, unique=True, trim="-")


class _LabelView(dict[str, str]):
    """Missing labels render as empty strings, as in Go templates."""

    def __missing__(self, key: str) -> str:
        return ""

    def __getattr__(self, key: str) -> str:
        return self.get(key, "")
