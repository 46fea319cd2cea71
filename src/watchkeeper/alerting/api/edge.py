"""Where domain errors become HTTP errors (and nowhere else)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from fastapi import HTTPException

from watchkeeper.alerting.matchers import MatcherError, parse_matchers
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Matcher


@contextmanager
def http_errors() -> Iterator[None]:
    """Turn a client mistake raised by the domain into its 4xx with the same message."""
    try:
        yield
    except MatcherError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    except UserInputError as exc:
        raise HTTPException(status_code=exc.status_code, detail=str(exc)) from None


def parse_filters(filters: Sequence[str] | None) -> list[Matcher]:
    out: list[Matcher] = []
    for text in filters or []:
        try:
            out.extend(parse_matchers(text))
        except MatcherError as exc:
            raise HTTPException(status_code=400, detail=f"filter: {exc}") from None
    return out


def timestamp(value: datetime | None, *, default: float, what: str) -> float:
    if value is None:
        return default
    if value.tzinfo is None:
        raise HTTPException(
            status_code=400,
            detail=f"{what}: give a time zone (e.g. 2026-05-01T10:00:00Z), not a local time",
        )
    return value.timestamp()
