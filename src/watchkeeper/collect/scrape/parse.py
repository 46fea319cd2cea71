"""Parsing exposition text: Prometheus text format 0.0.4 and OpenMetrics 1.0.

The scrape collector (and the Supabase metrics endpoint) use the strict line parser of
:mod:`watchkeeper.collect.scrape.fastparse`: measured in ``bench/collect_parse.py`` at
about ten times prometheus_client's parsers, which remain the reference the tests compare
it with. A malformed body raises :class:`TargetError` naming the first bad line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from watchkeeper.collect.base import CollectFailure, TargetError
from watchkeeper.collect.scrape.fastparse import (
    ExpositionSyntaxError,
    parse_columns,
    parse_lines,
)
from watchkeeper.core.labels import Labels

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
    try:
        rows = parse_lines(text, openmetrics=openmetrics)
    except ExpositionSyntaxError as exc:
        raise _malformed(exc, openmetrics) from None
    return [ParsedSample(labels, value, ts) for labels, value, ts in rows]


def parse_exposition_cached(
    text: str, content_type: str | None, cache: dict[str, Labels]
) -> tuple[list[Labels], list[float], list[int | None] | None]:
    """As :func:`parse_exposition`, as columns (labels, values, timestamps or ``None``
    when no sample has one) whose label sets come from ``cache`` when a series was seen
    before (see :func:`~watchkeeper.collect.scrape.fastparse.parse_columns`)."""
    openmetrics = is_openmetrics(content_type)
    try:
        return parse_columns(text, cache, openmetrics=openmetrics)
    except ExpositionSyntaxError as exc:
        raise _malformed(exc, openmetrics) from None


def _malformed(exc: ExpositionSyntaxError, openmetrics: bool) -> TargetError:
    fmt = "OpenMetrics" if openmetrics else "Prometheus text format 0.0.4"
    return TargetError(
        f"malformed exposition text ({fmt}) at line {exc.line}: {exc.text[:120]!r}: "
        f"{exc.why}; fix the target's metrics output (check it with "
        "`promtool check metrics`)",
        CollectFailure.BAD_RESPONSE,
    )


def format_value(value: float) -> str:
    """A sample value as the exposition formats write it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))
