"""Parsing exposition text: Prometheus text format 0.0.4 and OpenMetrics 1.0.

Both go through prometheus_client's parsers (measured against a hand-written parser in
``bench/collect_parse.py``; the library is kept because it is maintained upstream and fast
enough for the ingestion targets). A malformed body raises :class:`TargetError` naming
the first bad line, found by bisecting over line prefixes only when parsing failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as _openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as _text_families

from watchkeeper.collect.base import CollectFailure, TargetError
from watchkeeper.core.labels import METRIC_NAME

ACCEPT_HEADER = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
"""What Prometheus sends: OpenMetrics preferred, the text format accepted, anything else
parsed as the text format."""

OPENMETRICS_TYPE = "application/openmetrics-text"


@dataclass(frozen=True, slots=True)
class ParsedSample:
    labels: dict[str, str]  # with __name__
    value: float
    timestamp_ms: int | None


def is_openmetrics(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";")[0].strip().lower() == OPENMETRICS_TYPE


def parse_exposition(text: str, content_type: str | None = None) -> list[ParsedSample]:
    """Every sample in ``text``; the format follows ``content_type`` as Prometheus does."""
    openmetrics = is_openmetrics(content_type)
    parser: Callable[[str], Iterable[Any]] = (
        _openmetrics_families if openmetrics else _text_families
    )
    try:
        return _samples(parser(text))
    except Exception as exc:  # the parsers raise ValueError, KeyError, IndexError, ...
        line_no, line = _first_bad_line(text, parser, openmetrics)
        fmt = "OpenMetrics" if openmetrics else "Prometheus text format 0.0.4"
        where = f" at line {line_no}: {line[:120]!r}" if line_no else ""
        raise TargetError(
            f"malformed exposition text ({fmt}){where}: {exc}; fix the target's /metrics "
            "output (check it with `promtool check metrics`)",
            CollectFailure.BAD_RESPONSE,
        ) from None


def _samples(families: Iterable[Any]) -> list[ParsedSample]:
    out: list[ParsedSample] = []
    append = out.append
    for family in families:
        for sample in family.samples:
            labels = dict(sample.labels)
            labels[METRIC_NAME] = sample.name
            ts = sample.timestamp
            ts_ms = None if ts is None else round(float(ts) * 1000)
            append(ParsedSample(labels, float(sample.value), ts_ms))
    return out


def _first_bad_line(
    text: str, parser: Callable[[str], Iterable[Any]], openmetrics: bool
) -> tuple[int, str]:
    """(1-based line number, line) of the first line that makes parsing fail."""
    lines = text.split("\n")

    def ok(n: int) -> bool:
        chunk = "\n".join(lines[:n]) + "\n"
        if openmetrics and not chunk.rstrip().endswith("# EOF"):
            chunk += "# EOF\n"
        try:
            _samples(parser(chunk))
        except Exception:
            return False
        return True

    lo, hi = 0, len(lines)
    if ok(hi):
        return 0, ""
    while hi - lo > 1:  # invariant: lines[:lo] parse, lines[:hi] do not
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return hi, lines[hi - 1] if 0 < hi <= len(lines) else ""


def format_value(value: float) -> str:
    """A sample value as the exposition formats write it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))
