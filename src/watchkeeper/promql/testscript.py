"""The script language of Prometheus' PromQL test files (``*.test``): ``load``,
``clear``, ``eval``/``eval_ordered``/``eval_fail`` ``instant at`` and ``eval range``,
with series descriptions such as ``http_requests{job="api"} 0+10x10 _ stale``.

Only the test scripts' own notation is parsed here; the expressions under test go to the
engine (and so to ``promql-parser``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from watchkeeper.core.durations import parse_duration
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.tsdb.base import STALE_NAN


class ScriptError(ValueError):
    """A line of a test script that does not follow the script language."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


SKIP = None  # ``_``: no sample at this step


@dataclass(slots=True)
class SeriesDesc:
    labels: Labels
    values: list[float | None]
    histogram: bool = False  # uses native-histogram notation ``{{...}}``


@dataclass(slots=True)
class Load:
    line: int
    step_ms: int
    series: list[SeriesDesc]


@dataclass(slots=True)
class Clear:
    line: int


@dataclass(slots=True)
class Eval:
    line: int
    expr: str
    instant: bool
    fail: bool = False
    ordered: bool = False
    at_ms: int = 0
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0
    scalar: float | None = None
    expected: list[SeriesDesc] = field(default_factory=list)

    @property
    def histogram(self) -> bool:
        return any(e.histogram for e in self.expected)


Command = Load | Clear | Eval

_INSTANT = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_RANGE = re.compile(r"^eval(?:_(fail))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_LOAD = re.compile(r"^load\s+(\S+)$")
# Series values never use hexadecimal (``0x10`` is 0 repeated 10 more times).
_NUM = (
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?|[Nn][Aa][Nn])"
)
_UNUM = _NUM[5:]  # without the sign
_PLAIN = re.compile(f"^({_NUM})$")
_SCALAR = re.compile(r"^[+-]?0[xX][0-9a-fA-F]+$")
_REPEAT = re.compile(f"^({_NUM})x(\\d+)$")
_SEQUENCE = re.compile(f"^({_NUM})([+-])({_UNUM})x(\\d+)$")
_SKIPS = re.compile(r"^_x(\d+)$")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def parse_number(text: str) -> float:
    """A number as the script language writes it (Go's ParseInt base 0, then ParseFloat)."""
    if not _PLAIN.match(text) and not _SCALAR.match(text):
        raise ValueError(f"not a number: {text!r}")
    body = text.lstrip("+-")
    sign = -1.0 if text.startswith("-") else 1.0
    if body[:2] in ("0x", "0X"):
        return sign * float(int(body, 16))
    return float(text)


def _duration_ms(text: str, line: int) -> int:
    try:
        return round(parse_duration(text) * 1000)
    except ValueError as exc:
        raise ScriptError(line, str(exc)) from None


def _unquote(text: str, pos: int, line: int) -> tuple[str, int]:
    quote = text[pos]
    if quote == "`":
        end = text.find("`", pos + 1)
        if end < 0:
            raise ScriptError(line, "unterminated raw string")
        return text[pos + 1 : end], end + 1
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif nxt.isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(nxt)
            i += 2
    raise ScriptError(line, "unterminated string")


def parse_labels(text: str, line: int) -> tuple[Labels, int]:
    """``name{a="b", ...}`` at the start of ``text``; returns labels and the end index."""
    pairs: dict[str, str] = {}
    pos = 0
    found = _NAME.match(text)
    if found:
        pairs[METRIC_NAME] = found.group(0)
        pos = found.end()
    if pos < len(text) and text[pos] == "{":
        pos += 1
        while True:
            while pos < len(text) and text[pos] in " \t,":
                pos += 1
            if pos < len(text) and text[pos] == "}":
                pos += 1
                break
            label = _LABEL.match(text, pos)
            if not label or label.end() >= len(text) or text[label.end()] not in "\"'`":
                raise ScriptError(line, f"cannot read the label set in {text!r}")
            value, pos = _unquote(text, label.end(), line)
            pairs[label.group(1)] = value
    elif not found:
        raise ScriptError(line, f"expected a metric name or a label set in {text!r}")
    return Labels(pairs), pos


def expand_values(text: str, line: int) -> list[float | None]:
    values: list[float | None] = []
    for token in text.split():
        if token == "_":  # noqa: S105 - a script token, not a credential
            values.append(SKIP)
        elif token == "stale":  # noqa: S105
            values.append(STALE_NAN)
        elif m := _SKIPS.match(token):
            values.extend([SKIP] * int(m.group(1)))
        elif _PLAIN.match(token):
            values.append(parse_number(token))
        elif m := _REPEAT.match(token):
            values.extend([parse_number(m.group(1))] * (int(m.group(2)) + 1))
        elif m := _SEQUENCE.match(token):
            current = parse_number(m.group(1))
            delta = parse_number(m.group(3)) * (-1.0 if m.group(2) == "-" else 1.0)
            for _ in range(int(m.group(4)) + 1):
                values.append(current)
                current += delta
        else:
            raise ScriptError(line, f"cannot read the value {token!r}")
    return values


def parse_series(text: str, line: int) -> SeriesDesc:
    labels, end = parse_labels(text, line)
    rest = text[end:]
    if "{{" in rest:
        return SeriesDesc(labels, [], histogram=True)
    return SeriesDesc(labels, expand_values(rest, line))


def _block(lines: list[str], start: int) -> tuple[list[tuple[int, str]], int]:
    out: list[tuple[int, str]] = []
    i = start
    while i < len(lines) and lines[i]:
        out.append((i + 1, lines[i]))
        i += 1
    return out, i


def parse_script(text: str) -> list[Command]:
    """Parse a whole test file; raises :class:`ScriptError` for a malformed line."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = ["" if ln.startswith("#") else ln for ln in lines]
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        text_line = lines[i]
        number = i + 1
        if not text_line:
            i += 1
            continue
        word = text_line.split()[0]
        if word == "clear":
            commands.append(Clear(number))
            i += 1
            continue
        block, i = _block(lines, i + 1)
        if word == "load":
            m = _LOAD.match(text_line)
            if not m:
                raise ScriptError(number, "expected 'load <step>'")
            step = _duration_ms(m.group(1), number)
            commands.append(Load(number, step, [parse_series(t, n) for n, t in block]))
        elif word.startswith("eval"):
            commands.append(_parse_eval(text_line, number, block))
        else:
            raise ScriptError(number, f"unknown command {word!r}")
    return commands


def _parse_eval(text: str, number: int, block: list[tuple[int, str]]) -> Eval:
    if m := _INSTANT.match(text):
        if not m.group(2):
            raise ScriptError(number, "an instant eval needs 'at <time>'")
        cmd = Eval(
            number,
            m.group(3),
            instant=True,
            fail=m.group(1) == "fail",
            ordered=m.group(1) == "ordered",
            at_ms=_duration_ms(m.group(2), number),
        )
    elif m := _RANGE.match(text):
        cmd = Eval(
            number,
            m.group(5),
            instant=False,
            fail=m.group(1) == "fail",
            start_ms=_duration_ms(m.group(2), number),
            end_ms=_duration_ms(m.group(3), number),
            step_ms=_duration_ms(m.group(4), number),
        )
    else:
        raise ScriptError(number, f"cannot read the eval command {text!r}")
    for n, line in block:
        if cmd.instant and (_PLAIN.match(line) or _SCALAR.match(line)):
            cmd.scalar = parse_number(line)
            continue
        desc = parse_series(line, n)
        if cmd.instant and not desc.histogram and len(desc.values) != 1:
            raise ScriptError(n, "an instant eval expects exactly one value per series")
        cmd.expected.append(desc)
    return cmd
