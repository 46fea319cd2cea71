"""OpenMetrics text for backfill and export (``watchkeeper tsdb import/export``).

Reading: every sample line needs a timestamp (seconds, as OpenMetrics writes them) and the
file must end with ``# EOF``, as ``promtool tsdb create-blocks-from openmetrics`` expects.
``# HELP``/``# TYPE``/``# UNIT`` lines are accepted and not stored (the TSDB keeps no
metadata); exemplars are ignored. A malformed line stops the import with
``file:line: what is wrong``, before anything is stored.

Why not ``prometheus_client.openmetrics.parser``: it is built for scrape-sized input and
measured at 30-70 µs a sample here, growing faster than linearly with the size of a metric
family (200k samples of one family: 13 s); a backfill of a few million samples would take
minutes. The regular expressions below parse the same sample syntax at a few µs a sample.
The export side is checked against that parser (and ``promtool``) in the tests and bench.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import METRIC_NAME, Labels, Matcher, MatchOp
from watchkeeper.tsdb.base import SeriesData, SeriesStore, stale_mask

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_VALUE = r'"(?:[^"\\\n]|\\.)*"'
_SAMPLE_RE = re.compile(
    rf"({_NAME})"
    rf"(?:\{{((?:[a-zA-Z_][a-zA-Z0-9_]*={_LABEL_VALUE}(?:,(?=[a-zA-Z_]))?)*),?\}})?"
    r" (\S+)(?: (\S+))?(?: # .*)?"
)
_LABEL_RE = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)=({_LABEL_VALUE})")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL_VALUES = {"NaN": math.nan, "+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf}
_TS_RE = re.compile(r"(-?)(\d+)(?:\.(\d*))?")
_META_RE = re.compile(rf"# (HELP|TYPE|UNIT) ({_NAME})(?: .*)?")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE_RE = re.compile(r"\\.")


@dataclass(slots=True)
class ParsedSeries:
    timestamps: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))


@dataclass(slots=True)
class ParseResult:
    series: dict[Labels, ParsedSeries]
    samples: int
    lines: int


def _unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        found = _ESCAPES.get(m.group(0))
        if found is None:
            raise ValueError(
                f'unknown escape {m.group(0)!r} in a label value (use \\\\, \\" or \\n)'
            )
        return found

    return _ESCAPE_RE.sub(repl, text)


def _value(text: str) -> float:
    special = _SPECIAL_VALUES.get(text)
    if special is not None:
        return special
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError(f"value {text!r} is not a number (write e.g. 1.5, 2e3, NaN, +Inf)")
    return float(text)


def _timestamp_ms(text: str) -> int:
    m = _TS_RE.fullmatch(text)
    if m is not None:
        sign, whole, frac = m.groups()
        ms = int(whole) * 1000 + int((frac or "")[:3].ljust(3, "0"))
        return -ms if sign else ms
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError(f"timestamp {text!r} is not a number of seconds since the epoch")
    return round(float(text) * 1000)


def parse_openmetrics(
    lines: Iterable[str], filename: str, progress: Callable[[int], None] | None = None
) -> ParseResult:
    """Every series with its samples; raises :class:`UserInputError` naming the line."""
    series: dict[Labels, ParsedSeries] = {}
    cache: dict[tuple[str, str | None], ParsedSeries] = {}
    samples = 0
    lineno = 0
    seen_eof = False
    for lineno, raw in enumerate(lines, 1):
        if progress is not None:
            progress(len(raw))
        line = raw.rstrip("\n")
        if seen_eof:
            if line.strip():
                raise UserInputError(
                    f"{filename}:{lineno}: text after '# EOF'; the end marker must be the last line"
                )
            continue
        if not line.strip():
            continue
        if line[0] == "#":
            if line == "# EOF":
                seen_eof = True
            elif not _META_RE.fullmatch(line):
                raise UserInputError(
                    f"{filename}:{lineno}: unexpected comment {line[:60]!r}; OpenMetrics allows "
                    "only '# HELP', '# TYPE', '# UNIT' and the final '# EOF'"
                )
            continue
        m = _SAMPLE_RE.fullmatch(line)
        if m is None:
            raise UserInputError(
                f"{filename}:{lineno}: not a sample line: {line[:80]!r}; expected "
                'name{label="value",...} value timestamp'
            )
        name, label_text, value_text, ts_text = m.groups()
        if ts_text is None:
            raise UserInputError(
                f"{filename}:{lineno}: sample without a timestamp; every imported sample needs "
                "one (seconds since the epoch, e.g. 1700000000.5)"
            )
        key = (name, label_text)
        target = cache.get(key)
        try:
            value = _value(value_text)
            ts = _timestamp_ms(ts_text)
            if target is None:
                pairs = [(METRIC_NAME, name)]
                if label_text:
                    for label, quoted in _LABEL_RE.findall(label_text):
                        inner = quoted[1:-1]
                        pairs.append((label, _unescape(inner) if "\\" in inner else inner))
                names = [p[0] for p in pairs]
                if len(set(names)) != len(names):
                    raise ValueError("a label name appears twice in this sample")
                labels = Labels(pairs)
                target = series.get(labels)
                if target is None:
                    target = series[labels] = ParsedSeries()
                cache[key] = target
        except ValueError as exc:
            raise UserInputError(f"{filename}:{lineno}: {exc}") from None
        target.timestamps.append(ts)
        target.values.append(value)
        samples += 1
    if not seen_eof:
        raise UserInputError(
            f"{filename}:{lineno}: the file does not end with '# EOF'; an OpenMetrics file "
            "must, so that a cut-off file is not taken for a complete one"
        )
    return ParseResult(series, samples, lineno)


# ----- export


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def format_timestamp(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _series_prefix(labels: Labels) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items_tuple if k != METRIC_NAME)
    return f"{labels.name}{{{inner}}}" if inner else labels.name


def write_series(out: TextIO, data: SeriesData) -> int:
    """One series' samples; staleness markers are left out (OpenMetrics cannot tell them
    from an ordinary NaN). Returns how many samples were written."""
    keep = ~stale_mask(data.values)
    prefix = _series_prefix(data.labels) + " "
    ts = data.timestamps[keep].tolist()
    vals = data.values[keep].tolist()
    out.writelines(
        f"{prefix}{format_value(v)} {format_timestamp(t)}\n" for t, v in zip(ts, vals, strict=True)
    )
    return len(ts)


def export_openmetrics(
    store: SeriesStore,
    matcher_sets: Sequence[Sequence[Matcher]],
    start_ms: int,
    end_ms: int,
    out: TextIO,
) -> tuple[int, int]:
    """Write the matching series as OpenMetrics, one metric family at a time (so memory
    stays bounded by the largest family). Returns (series, samples)."""
    sets = [list(ms) for ms in matcher_sets] or [[]]
    names: set[str] = set()
    for ms in sets:
        names.update(store.label_values(METRIC_NAME, ms, start_ms, end_ms))
    n_series = n_samples = 0
    for name in sorted(names):
        found: dict[Labels, SeriesData] = {}
        for ms in sets:
            for data in store.select(
                [Matcher(METRIC_NAME, MatchOp.EQUAL, name), *ms], start_ms, end_ms
            ):
                found.setdefault(data.labels, data)
        for labels in sorted(found):
            written = write_series(out, found[labels])
            if written:
                n_series += 1
                n_samples += written
    out.write("# EOF\n")
    return n_series, n_samples


def as_arrays(parsed: ParsedSeries) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.frombuffer(parsed.timestamps, dtype=np.int64).copy(),
        np.frombuffer(parsed.values, dtype=np.float64).copy(),
    )
