"""Alertmanager's ``time_intervals``: named sets of times, weekdays, days of the month
(negative counts from the month's end), months and years, in a time zone.

Config models validate each field where it is written; :func:`compile_intervals` builds
the runtime :class:`TimeIntervalSet` objects that answer "does this instant fall inside?"
and "when does that next change?".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from watchkeeper.config.base import StrictModel

_WEEKDAYS = {
    "sunday": 0,
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_TIME_RE = re.compile(r"^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)")


def parse_clock(text: str) -> int:
    """``HH:MM`` (``24:00`` allowed as an end) -> minutes since midnight."""
    if not _TIME_RE.match(text):
        raise ValueError(f"invalid time {text!r}: write HH:MM in 24-hour form, e.g. 09:00 or 17:30")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _split_range(text: str) -> tuple[str, str]:
    text = text.lower().strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise ValueError(f"invalid range {text!r}: write start:end")
        return parts[0], parts[1]
    return text, text


def parse_weekday_range(text: str) -> tuple[int, int]:
    a, b = _split_range(text)
    try:
        begin, end = _WEEKDAYS[a], _WEEKDAYS[b]
    except KeyError as exc:
        raise ValueError(
            f"{exc.args[0]!r} is not a weekday: use monday ... sunday, or a range "
            "such as monday:friday"
        ) from None
    if begin > end:
        raise ValueError(
            f"weekday range {text!r} ends before it starts (weeks run sunday to saturday); "
            "split it into two ranges"
        )
    return begin, end


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid {what}") from None


def parse_day_of_month_range(text: str) -> tuple[int, int]:
    a, b = _split_range(text)
    begin, end = _int(a, "day of the month"), _int(b, "day of the month")
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(
                f"{day} is not a valid day of the month: use 1..31, or -1..-31 to count "
                "from the end of the month"
            )
    if begin < 0 < end:
        raise ValueError(f"days of month {text!r}: the end must be negative if the start is")
    check_begin = 28 + begin if begin < 0 else begin
    check_end = 28 + end if end < 0 else end
    if check_begin > check_end:
        raise ValueError(f"days of month {text!r}: end day {end} is always before start {begin}")
    return begin, end


def parse_month_range(text: str) -> tuple[int, int]:
    a, b = _split_range(text)

    def month(s: str) -> int:
        if s in _MONTHS:
            return _MONTHS[s]
        value = _int(s, "month (january ... december or 1 ... 12)")
        if not 1 <= value <= 12:
            raise ValueError(f"{s!r} is not a valid month: use january ... december or 1 ... 12")
        return value

    begin, end = month(a), month(b)
    if begin > end:
        raise ValueError(f"month range {text!r}: the end month is before the start month")
    return begin, end


def parse_year_range(text: str) -> tuple[int, int]:
    a, b = _split_range(text)
    begin, end = _int(a, "year"), _int(b, "year")
    if begin > end:
        raise ValueError(f"year range {text!r}: end year {end} is before start year {begin}")
    return begin, end


def load_zone(name: str) -> tzinfo:
    if name in ("UTC", "Local", ""):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None


def _checked(parse: Callable[[str], tuple[int, int]]) -> Callable[[str], str]:
    def check(value: str) -> str:
        parse(value)
        return value

    return check


def _text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Weekdays = Annotated[str, AfterValidator(_checked(parse_weekday_range))]
DaysOfMonth = Annotated[
    str, BeforeValidator(_text), AfterValidator(_checked(parse_day_of_month_range))
]
Months = Annotated[str, BeforeValidator(_text), AfterValidator(_checked(parse_month_range))]
Years = Annotated[str, BeforeValidator(_text), AfterValidator(_checked(parse_year_range))]


class TimeRangeConfig(StrictModel):
    start_time: str
    end_time: str

    @field_validator("start_time", "end_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    def minutes(self) -> tuple[int, int]:
        start, end = parse_clock(self.start_time), parse_clock(self.end_time)
        if start >= end:
            raise ValueError(
                f"time range {self.start_time}-{self.end_time}: the start must be before the end "
                "(split a range over midnight into two ranges)"
            )
        return start, end


class TimeIntervalSpec(StrictModel):
    """One entry of a named interval; every field given must match (an empty one matches
    anything)."""

    times: list[TimeRangeConfig] | None = None
    weekdays: list[Weekdays] | None = None
    days_of_month: list[DaysOfMonth] | None = None
    months: list[Months] | None = None
    years: list[Years] | None = None
    location: str | None = Field(None, description="IANA time zone (default UTC)")

    @field_validator("times")
    @classmethod
    def _times(cls, value: list[TimeRangeConfig] | None) -> list[TimeRangeConfig] | None:
        for tr in value or []:
            tr.minutes()
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is not None:
            load_zone(value)
        return value


class TimeIntervalConfig(StrictModel):
    name: str = Field(min_length=1)
    time_intervals: list[TimeIntervalSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CompiledSpec:
    times: tuple[tuple[int, int], ...] | None
    weekdays: tuple[tuple[int, int], ...] | None
    days_of_month: tuple[tuple[int, int], ...] | None
    months: tuple[tuple[int, int], ...] | None
    years: tuple[tuple[int, int], ...] | None
    zone: tzinfo

    @classmethod
    def build(cls, spec: TimeIntervalSpec) -> CompiledSpec:
        def ranges(
            items: Sequence[str] | None, parse: Callable[[str], tuple[int, int]]
        ) -> tuple[tuple[int, int], ...] | None:
            return None if items is None else tuple(parse(str(i)) for i in items)

        return cls(
            times=None if spec.times is None else tuple(t.minutes() for t in spec.times),
            weekdays=ranges(spec.weekdays, parse_weekday_range),
            days_of_month=ranges(spec.days_of_month, parse_day_of_month_range),
            months=ranges(spec.months, parse_month_range),
            years=ranges(spec.years, parse_year_range),
            zone=load_zone(spec.location or "UTC"),
        )

    def contains(self, ts: float) -> bool:
        t = datetime.fromtimestamp(ts, tz=self.zone)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        if self.days_of_month is not None:
            days = calendar.monthrange(t.year, t.month)[1]
            hit = False
            for begin, end in self.days_of_month:
                b = days + begin + 1 if begin < 0 else begin
                e = days + end + 1 if end < 0 else end
                if b > days:
                    continue
                b, e = max(min(b, days), -days), max(min(e, days), -days)
                if b <= t.day <= e:
                    hit = True
                    break
            if not hit:
                return False
        if self.months is not None and not any(b <= t.month <= e for b, e in self.months):
            return False
        if self.weekdays is not None:
            weekday = (t.weekday() + 1) % 7  # Python: Monday=0; Alertmanager: Sunday=0
            if not any(b <= weekday <= e for b, e in self.weekdays):
                return False
        return self.years is None or any(b <= t.year <= e for b, e in self.years)

    def boundaries(self, day_start: datetime) -> list[datetime]:
        """Instants on the local day ``day_start`` where :meth:`contains` may change."""
        out = [day_start]
        for start, end in self.times or ():
            for minute in (start, end):
                if minute < 1440:
                    out.append(day_start + timedelta(minutes=minute))
        return out


@dataclass(frozen=True, slots=True)
class TimeIntervalSet:
    """A named time interval: inside when any of its specs contains the instant."""

    name: str
    specs: tuple[CompiledSpec, ...]

    def contains(self, ts: float) -> bool:
        return any(s.contains(ts) for s in self.specs)

    def next_change(self, ts: float, horizon_days: int = 800) -> float | None:
        """The first instant after ``ts`` where :meth:`contains` differs from now, or
        ``None`` if it does not change within ``horizon_days``."""
        state = self.contains(ts)
        week = 7 * 86400.0
        for k in range(horizon_days // 7 + 1):
            lo, hi = ts + k * week, ts + (k + 1) * week
            candidates: set[float] = set()
            for spec in self.specs:
                first = datetime.fromtimestamp(lo, tz=spec.zone).date() - timedelta(days=1)
                for i in range(10):
                    d = first + timedelta(days=i)
                    midnight = datetime(d.year, d.month, d.day, tzinfo=spec.zone)
                    for point in spec.boundaries(midnight):
                        p = point.timestamp()
                        if lo < p <= hi and p > ts:
                            candidates.add(p)
            for p in sorted(candidates):
                if self.contains(p) != state:
                    return p
        return None

    def prev_change(self, ts: float, horizon_days: int = 800) -> float | None:
        """The latest instant at or before ``ts`` where :meth:`contains` became what it is
        at ``ts``, or ``None`` if it did not change within ``horizon_days``."""
        state = self.contains(ts)
        week = 7 * 86400.0
        for k in range(horizon_days // 7 + 1):
            lo, hi = ts - (k + 1) * week, ts - k * week
            candidates: set[float] = set()
            for spec in self.specs:
                first = datetime.fromtimestamp(lo, tz=spec.zone).date() - timedelta(days=1)
                for i in range(10):
                    d = first + timedelta(days=i)
                    midnight = datetime(d.year, d.month, d.day, tzinfo=spec.zone)
                    for point in spec.boundaries(midnight):
                        p = point.timestamp()
                        if lo < p <= hi and p <= ts:
                            candidates.add(p)
            for p in sorted(candidates, reverse=True):
                if self.contains(p) == state and self.contains(p - 1) != state:
                    return p
        return None


def compile_intervals(configs: Iterable[TimeIntervalConfig]) -> dict[str, TimeIntervalSet]:
    return {
        c.name: TimeIntervalSet(c.name, tuple(CompiledSpec.build(s) for s in c.time_intervals))
        for c in configs
    }
