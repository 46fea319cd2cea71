"""A strict, fast line parser for Prometheus text format 0.0.4 and the sample lines of
OpenMetrics 1.0.

prometheus_client's parsers run at roughly 10k samples/s here and accept some malformed
lines (``m{x=} 1`` loses its label, ``m 1 2 3`` is read as value 1 at time 2); this
parser reads the same grammar about ten times faster and refuses what Prometheus refuses.
It checks the syntax of every line (metric and label names, quoting and escapes, values,
timestamps, ``# TYPE`` kinds, the closing ``# EOF`` of OpenMetrics); it does not check
OpenMetrics' metadata rules (``_total`` suffixes of counters, ``_created`` order), which
do not change the samples read. Exemplars after `` # `` are skipped.

The scrape collector reads through :func:`parse_columns`, which keeps each target's label
sets by series text and reads the usual body (comments and ``name{labels} value`` lines)
without a Python step per line; any other body goes through the line parser.

Golden, round-trip and Hypothesis tests: ``tests/collect/test_fastparse.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from itertools import repeat
from math import isfinite
from operator import is_, is_not, itemgetter
from typing import cast

from watchkeeper.core.labels import Labels

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(
    rf"({_NAME})(?:\{{(.*)\}})?[ \t]+([^ \t#]+)(?:[ \t]+([^ \t#]+))?[ \t]*(?:[ \t]#[ \t].*)?$"
)
_LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*')
_TYPE_RE = re.compile(rf"# TYPE ({_NAME}) (\S+)[ \t]*$")
_TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_OM_TYPES = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE_RE = re.compile(r"\\(.)")
_SPECIAL = {
    "NaN": math.nan,
    "+Inf": math.inf,
    "-Inf": -math.inf,
    "Inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "inf": math.inf,
    "nan": math.nan,
}
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class ExpositionSyntaxError(ValueError):
    """A line that is not valid exposition text; ``line`` is 1-based."""

    def __init__(self, line: int, text: str, why: str) -> None:
        super().__init__(f"line {line}: {why}: {text[:120]!r}")
        self.line = line
        self.text = text
        self.why = why


def _unescape(value: str, line_no: int, line: str) -> str:
    def repl(m: re.Match[str]) -> str:
        # as Prometheus: \\, \" and \n are escapes, any other backslash pair stays as is
        return _ESCAPES.get(m.group(0), m.group(0))

    return _ESCAPE_RE.sub(repl, value)


def _labels(body: str, line_no: int, line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos, end = 0, len(body)
    while pos < end:
        m = _LABEL_RE.match(body, pos)
        if m is None:
            raise ExpositionSyntaxError(line_no, line, "malformed label set")
        name, value = m.group(1), m.group(2)
        if name in out:
            raise ExpositionSyntaxError(line_no, line, f"label {name!r} given twice")
        out[name] = _unescape(value, line_no, line) if "\\" in value else value
        pos = m.end()
        if pos < end:
            if body[pos] != ",":
                raise ExpositionSyntaxError(line_no, line, "labels must be separated by ','")
            pos += 1
            if body[pos:].strip() == "":
                break  # a trailing comma is allowed
    return out


def parse_value(text: str) -> float:
    special = _SPECIAL.get(text)
    if special is not None:
        return special
    if _NUMBER_RE.match(text) is None:
        raise ValueError(text)
    return float(text)


def _rows(
    text: str, openmetrics: bool
) -> Iterator[tuple[int, str, str, str | None, float, int | None]]:
    """(line number, line, metric name, raw label body or ``None``, value, timestamp in
    ms or ``None``) for every sample line. Raises :class:`ExpositionSyntaxError` at the
    first bad line."""
    match_sample = _SAMPLE_RE.match
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    seen_eof = False
    types = _OM_TYPES if openmetrics else _TEXT_TYPES
    for i, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if seen_eof:
            raise ExpositionSyntaxError(i, line, "text after # EOF")
        if not line or line[0] == "#":
            if openmetrics and line == "# EOF":
                seen_eof = True
            elif line.startswith("# TYPE"):
                t = _TYPE_RE.match(line)
                if t is None or t.group(2) not in types:
                    raise ExpositionSyntaxError(i, line, "malformed # TYPE line")
            elif openmetrics and not line:
                raise ExpositionSyntaxError(i, line, "empty line")
            continue
        if line[0] in " \t":
            line = line.lstrip(" \t")
            if not line or line[0] == "#":
                continue
        m = match_sample(line)
        if m is None:
            raise ExpositionSyntaxError(i, line, "not a sample line (name{labels} value)")
        name, body, value_text, ts_text = m.groups()
        try:
            value = parse_value(value_text)
        except ValueError:
            raise ExpositionSyntaxError(i, line, f"invalid value {value_text!r}") from None
        ts: int | None = None
        if ts_text is not None:
            try:
                ts = round(parse_value(ts_text) * 1000) if openmetrics else int(ts_text)
            except (ValueError, OverflowError):
                raise ExpositionSyntaxError(i, line, f"invalid timestamp {ts_text!r}") from None
        yield i, line, name, body, value, ts
    if openmetrics and not seen_eof:
        raise ExpositionSyntaxError(len(lines) + 1, "", "missing # EOF at the end")


def parse_lines(
    text: str, *, openmetrics: bool = False
) -> list[tuple[dict[str, str], float, int | None]]:
    """(labels with ``__name__``, value, timestamp in ms or ``None``) for every sample.
    Raises :class:`ExpositionSyntaxError` at the first bad line."""
    out: list[tuple[dict[str, str], float, int | None]] = []
    append = out.append
    for i, line, name, body, value, ts in _rows(text, openmetrics):
        labels = _labels(body, i, line) if body else {}
        labels["__name__"] = name
        append((labels, value, ts))
    return out


def parse_series(
    text: str, cache: dict[str, Labels], *, openmetrics: bool = False
) -> list[tuple[Labels, float, int | None]]:
    """As :func:`parse_lines`, with each series' labels as a :class:`Labels` taken from
    ``cache`` (keyed by the series' text as exposed, ``name{labels}``) or parsed and added
    to it: a target exposes the same series scrape after scrape, so their label sets are
    parsed once (the scrape cache of Prometheus does the same). The caller bounds the
    cache."""
    labels, values, stamps = parse_columns(text, cache, openmetrics=openmetrics)
    return list(zip(labels, values, stamps or repeat(None, len(labels)), strict=True))


def parse_columns(
    text: str, cache: dict[str, Labels], *, openmetrics: bool = False
) -> tuple[list[Labels], list[float], list[int | None] | None]:
    """As :func:`parse_series`, as columns: labels, values and timestamps (``None`` when
    no sample has one).

    A body whose lines are all comments, blank lines (text format) or ``name{labels}
    value`` is split at each line's last space, its values read by ``float`` and its
    label sets taken from ``cache``, without a regular expression per line (see
    :func:`_fast_columns`); any other body (timestamps, exemplars, tabs, carriage returns,
    a bad line) is read line by line, which also finds and names the first bad line.
    """
    fast = _fast_columns(text, cache, openmetrics)
    if fast is not None:
        return fast
    labels: list[Labels] = []
    values: list[float] = []
    stamps: list[int | None] = []
    get = cache.get
    for i, line, name, body, value, ts in _rows(text, openmetrics):
        key = name if body is None else f"{name}{{{body}}}"
        found = get(key)
        if found is None:
            found = cache[key] = _label_set(name, body, i, line)
        labels.append(found)
        values.append(value)
        stamps.append(ts)
    has_ts = any(map(is_not, stamps, repeat(None)))
    return labels, values, stamps if has_ts else None


_TYPE_LINE_RE = re.compile(r"\n(# TYPE[^\n]*)")  # a literal first: found by a fast search
_KEY_RE = re.compile(rf"({_NAME})(?:\{{(.*)\}})?")
# Over these characters ``float`` reads exactly what parse_value reads, apart from a few
# spellings of NaN and infinity, which are checked one by one (no whitespace, no '_').
_VALUE_CHARS = frozenset("0123456789.eE+-InfaN")
_key = itemgetter(0)
_value_text = itemgetter(2)


def _fast_columns(
    text: str, cache: dict[str, Labels], openmetrics: bool
) -> tuple[list[Labels], list[float], None] | None:
    """The whole-body reading of :func:`parse_columns`, or None where it does not apply
    (then the line parser reads the body, and refuses it if it is bad).

    Every line that is not blank or a comment is split at its last space into the series'
    text and the value; a series text not in ``cache`` must be a whole ``name{labels}``
    and is parsed strictly, and the values must be numbers: so a line with a timestamp,
    an exemplar, a tab or a carriage return sends the body to the line parser."""
    if openmetrics:
        # OpenMetrics: the last line is the only '# EOF' and no line is empty.
        if text.endswith("# EOF\n"):
            text = text[:-6]
        elif text.endswith("# EOF"):
            text = text[:-5]
        else:
            return None
        if (text and text[-1] != "\n") or text.startswith(("\n", "# EOF\n")):
            return None
        if "\n\n" in text or "\n# EOF\n" in text:
            return None
    types = _OM_TYPES if openmetrics else _TEXT_TYPES
    for line in _TYPE_LINE_RE.findall("\n" + text if text.startswith("# TYPE") else text):
        t = _TYPE_RE.match(line)
        if t is None or t.group(2) not in types:
            return None
    rows = [line.rpartition(" ") for line in text.split("\n") if line and line[0] != "#"]
    value_texts = list(map(_value_text, rows))
    if not set("".join(value_texts)) <= _VALUE_CHARS:
        return None
    try:
        values = list(map(float, value_texts))
    except ValueError:
        return None
    if not all(map(isfinite, values)) and not all(
        isfinite(v) or t in _SPECIAL for v, t in zip(values, value_texts, strict=True)
    ):
        return None  # a NaN or infinity spelled as Prometheus does not spell it
    keys = list(map(_key, rows))
    labels = list(map(cache.get, keys))
    if any(map(is_, labels, repeat(None))):
        for i, (key, found) in enumerate(zip(keys, labels, strict=True)):
            if found is None:
                new = cache.get(key) or _new_labels(key, cache)
                if new is None:
                    return None  # the line parser names the bad line
                labels[i] = new
    return cast(list[Labels], labels), values, None


def _new_labels(key: str, cache: dict[str, Labels]) -> Labels | None:
    """Parse, check and cache the label set of one series' text ``name{labels}``; None
    if it is not one."""
    m = _KEY_RE.fullmatch(key)
    if m is None:
        return None
    try:
        found = cache[key] = _label_set(m.group(1), m.group(2), 0, key)
    except ExpositionSyntaxError:
        return None
    return found


def _label_set(name: str, body: str | None, line_no: int, line: str) -> Labels:
    """The label set of metric ``name`` with the label text ``body`` (between the braces,
    or None). Raises :class:`ExpositionSyntaxError` naming ``line``."""
    parsed = _labels(body, line_no, line) if body else {}
    parsed["__name__"] = name
    return Labels(parsed)
