"""Prometheus-style durations (``1h30m``, ``5m``, ``250ms``, ``1d``, ``2w``, ``1y``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_DURATION_RE = re.compile(r"^((\d+)(ms|s|m|h|d|w|y))+$")
_PART_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; ``0`` is allowed. Raises ``ValueError``."""
    text = text.strip()
    if text == "0":
        return 0.0
    if not _DURATION_RE.match(text):
        raise ValueError(
            f"invalid duration {text!r}: use a number with a unit, e.g. 30s, 5m, 1h30m, 7d"
        )
    return sum(int(n) * _UNITS[u] for n, u in _PART_RE.findall(text))


def format_duration(seconds: float) -> str:
    if seconds == 0:
        return "0s"
    ms = round(seconds * 1000)
    out = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    if ms:
        out.append(f"{ms}ms")
    return "".join(out)


class Duration(float):
    """A float of seconds that config files write as a Prometheus duration string."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, bool):
                raise ValueError("expected a duration such as 30s or 5m, not a boolean")
            if isinstance(value, int | float):
                if value < 0:
                    raise ValueError("a duration cannot be negative")
                return cls(value)
            if isinstance(value, str):
                return cls(parse_duration(value))
            raise ValueError("expected a duration such as 30s or 5m")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: format_duration(float(v))
            ),
            json_schema_input_schema=core_schema.str_schema(
                pattern=r"^(0|(\d+(ms|s|m|h|d|w|y))+)$"
            ),
        )
