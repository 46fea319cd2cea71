"""Parameters of the Prometheus HTTP API: times, durations and series selectors, with the
error messages Prometheus gives (``invalid parameter "start": cannot parse ...``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import QueryParseError
from watchkeeper.core.labels import Matcher
from watchkeeper.promql.ast import VectorSelector, parse

# Prometheus' own "all time" bounds, which clients send verbatim.
MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z"
MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z"
# Times beyond about 285,000 years either way are "no bound" (and keep int64 math safe).
MIN_TIME_MS = -(2**53)
MAX_TIME_MS = 2**53
_FRACTION = re.compile(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$")

Params = Mapping[str, Sequence[str]]


def first(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def invalid(name: str, message: str) -> QueryParseError:
    return QueryParseError(f'invalid parameter "{name}": {message}')


def parse_time_ms(text: str, name: str) -> int:
    """Unix seconds (``1700000000.5``) or RFC 3339 (``2024-01-02T03:04:05.678Z``)."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or abs(seconds) > MAX_TIME_MS / 1000:
            raise invalid(name, f"cannot parse {text!r} to a valid timestamp")
        return round(seconds * 1000)
    if text == MIN_TIME_TEXT:
        return MIN_TIME_MS
    if text == MAX_TIME_TEXT:
        return MAX_TIME_MS
    cleaned = text.replace("z", "Z")
    found = _FRACTION.match(cleaned)
    if found:  # Python reads at most microseconds
        cleaned = f"{found.group(1)}.{found.group(2)[:6].ljust(6, '0')}{found.group(3)}"
    try:
        when = datetime.fromisoformat(cleaned)
    except ValueError:
        raise invalid(name, f"cannot parse {text!r} to a valid timestamp") from None
    if when.tzinfo is None:
        raise invalid(name, f"cannot parse {text!r} to a valid timestamp (no time zone)")
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def parse_duration_s(text: str, name: str) -> float:
    """Seconds (``15``, ``0.5``) or a Prometheus duration (``15s``, ``1m30s``)."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            return parse_duration(text)
        except ValueError:
            raise invalid(name, f"cannot parse {text!r} to a valid duration") from None
    if not math.isfinite(seconds) or abs(seconds) > 9.2e9:
        raise invalid(name, f"cannot parse {text!r} to a valid duration")
    return seconds


def optional_time(params: Params, name: str, default: int | None) -> int | None:
    text = first(params, name)
    if text is None or text == "":
        return default
    return parse_time_ms(text, name)


def required_time(params: Params, name: str) -> int:
    text = first(params, name)
    if text is None or text == "":
        raise invalid(name, f"a {name} time is required (Unix seconds or RFC 3339)")
    return parse_time_ms(text, name)


def selector_sets(text: str) -> list[list[Matcher]]:
    """The matcher sets of one ``match[]`` series selector."""
    try:
        node = parse(text)
    except QueryParseError as exc:
        raise invalid("match[]", str(exc)) from None
    if not isinstance(node, VectorSelector):
        raise invalid(
            "match[]", f'{text!r} is not a series selector; give e.g. up or {{job="api"}}'
        )
    return [list(group) for group in node.matcher_sets]


def match_sets(params: Params, *, required: bool) -> list[list[Matcher]] | None:
    texts = params.get("match[]") or []
    if not texts:
        if required:
            raise QueryParseError("no match[] parameter provided; give at least one selector")
        return None
    out: list[list[Matcher]] = []
    for text in texts:
        out.extend(selector_sets(text))
    return out
