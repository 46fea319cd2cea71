"""Uptime / SLA report of one service over a chosen period.

Availability is the share of successful check runs: ``probe_success`` of the service's
HTTP checks, or ``up`` of its other checks when it has no HTTP check. Per check and per
UTC day, plus the incidents (alert firing episodes labelled with the service) and each of
its SLOs over the period. Exported as CSV (one row per day and a total row) and rendered
as a page and as print-ready HTML.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import QueryError, UserInputError
from watchkeeper.core.labels import METRIC_NAME, Labels
from watchkeeper.quality.incidents import Incident, incidents_between
from watchkeeper.slo.status import SLOStatus

QueryFunc = Callable[[str, float], Sequence[tuple[Labels, float]]]
MAX_PERIOD = 400 * 86400.0
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z
SOURCES = ("probe_success", "up")
CSV_HEADER = (
    "service",
    "day",
    "availability_percent",
    "downtime_seconds",
    "incidents",
    "source",
)


def parse_time(value: str, what: str) -> float:
    """A date (YYYY-MM-DD, midnight UTC), an RFC 3339 time or epoch seconds, between 1970
    and the end of 9999."""
    text = value.strip()[:64]
    try:
        seconds = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UserInputError(
                f"{what} {value[:64]!r} is not a time; write a date (2026-01-31), an RFC 3339 "
                "time (2026-01-31T12:00:00Z) or epoch seconds"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_TIME):
        raise UserInputError(f"{what} must be between 1970 and the end of 9999")
    return seconds


def parse_period(
    start: str | None, end: str | None, period: str | None, now: float
) -> tuple[float, float]:
    """``[start, end)`` from the query: ``end`` defaults to now, ``start`` to ``end`` minus
    ``period`` (default 30d)."""
    end_s = parse_time(end, "end") if end else now
    if start:
        start_s = parse_time(start, "start")
    else:
        try:
            length = parse_duration(period or "30d")
        except ValueError as exc:
            raise UserInputError(f"period: {exc}") from None
        start_s = end_s - length
    if start_s < 0:
        raise UserInputError("the period reaches back before 1970; choose a shorter one")
    if start_s >= end_s:
        raise UserInputError("start must be before end")
    if end_s - start_s > MAX_PERIOD:
        raise UserInputError("a report covers at most 400 days; choose a shorter period")
    return start_s, end_s


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    availability: float | None  # 0..1
    checks: float = 0.0  # check runs in the window

    @property
    def downtime_seconds(self) -> float | None:
        if self.availability is None:
            return None
        return (1.0 - self.availability) * (self.end - self.start)


@dataclass(slots=True)
class UptimeReport:
    service: str
    title: str
    start: float
    end: float
    generated_at: float
    source: str | None
    total: Window
    checks: list[tuple[str, Window]]
    days: list[tuple[Window, int]]  # each UTC day and the incidents that fired in it
    incidents: list[Incident]
    slos: list[SLOStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "title": self.title,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "generated_at": rfc3339(self.generated_at),
            "source": self.source,
            "availability_percent": _pct(self.total.availability),
            "downtime_seconds": self.total.downtime_seconds,
            "check_runs": self.total.checks,
            "checks": [
                {"check": name, "availability_percent": _pct(w.availability), "runs": w.checks}
                for name, w in self.checks
            ],
            "days": [
                {
                    "day": _day(w.start),
                    "availability_percent": _pct(w.availability),
                    "downtime_seconds": w.downtime_seconds,
                    "incidents": n,
                }
                for w, n in self.days
            ],
            "incidents": [i.to_dict() for i in self.incidents],
            "slos": [s.to_dict() for s in self.slos],
        }

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        source = self.source or ""
        for window, n in self.days:
            writer.writerow(
                [
                    self.service,
                    _day(window.start),
                    _fmt(_pct(window.availability)),
                    _fmt(window.downtime_seconds),
                    n,
                    source,
                ]
            )
        writer.writerow(
            [
                self.service,
                "total",
                _fmt(_pct(self.total.availability)),
                _fmt(self.total.downtime_seconds),
                len(self.incidents),
                source,
            ]
        )
        return out.getvalue()


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100.0, 4)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def day_windows(start: float, end: float) -> list[tuple[float, float]]:
    """``[start, end)`` cut at UTC midnights."""
    out: list[tuple[float, float]] = []
    day = datetime.fromtimestamp(start, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    cursor = start
    while cursor < end:
        nxt = min(end, (day + timedelta(days=1)).timestamp())
        out.append((cursor, nxt))
        cursor = nxt
        day += timedelta(days=1)
    return out


class UptimeReporter:
    def __init__(self, *, query: QueryFunc, history: AlertHistory) -> None:
        self._query = query
        self._history = history

    def _ask(self, expr: str, at: float) -> Sequence[tuple[Labels, float]]:
        try:
            return self._query(expr, at)
        except QueryError:
            return []

    def _window(self, selector: str, start: float, end: float) -> Window:
        rng, at = _half_open(start, end)
        good = self._ask(f"sum(sum_over_time({selector}[{rng}]))", at)
        runs = self._ask(f"sum(count_over_time({selector}[{rng}]))", at)
        if not runs or not good or runs[0][1] <= 0:
            return Window(start, end, None)
        return Window(start, end, min(1.0, max(0.0, good[0][1] / runs[0][1])), runs[0][1])

    def _source(self, service: str, start: float, end: float) -> str | None:
        rng, at = _half_open(start, end)
        for metric in SOURCES:
            if self._ask(f'count(count_over_time({metric}{{service="{service}"}}[{rng}]))', at):
                return metric
        return None

    def report(
        self,
        service: str,
        start: float,
        end: float,
        *,
        title: str = "",
        now: float,
        external_labels: Mapping[str, str] | None = None,
        slos: Sequence[SLOStatus] = (),
    ) -> UptimeReport:
        source = self._source(service, start, end)
        selector = f'{source}{{service="{service}"}}' if source else ""
        total = self._window(selector, start, end) if source else Window(start, end, None)
        checks: list[tuple[str, Window]] = []
        if source:
            rng, at = _half_open(start, end)
            for labels, _ in self._ask(f"count_over_time({selector}[{rng}])", at):
                name = (
                    labels.get("check")
                    or labels.get("instance")
                    or str(labels.without(METRIC_NAME))
                )
                sel = labels.without(METRIC_NAME).with_(**{METRIC_NAME: source})
                checks.append((name, self._window(_selector(sel), start, end)))
            checks.sort(key=lambda c: c[0])
        incidents = [
            i
            for i in incidents_between(self._history, start, end, external_labels)
            if i.service == service
        ]
        days = []
        for day_start, day_end in day_windows(start, end):
            window = (
                self._window(selector, day_start, day_end)
                if source
                else Window(day_start, day_end, None)
            )
            fired = sum(1 for i in incidents if day_start <= i.fired_at < day_end)
            days.append((window, fired))
        return UptimeReport(
            service=service,
            title=title or service,
            start=start,
            end=end,
            generated_at=now,
            source=source,
            total=total,
            checks=checks,
            days=days,
            incidents=incidents,
            slos=list(slos),
        )


def _half_open(start: float, end: float) -> tuple[str, float]:
    """A range and an evaluation time that select the samples in ``[start, end)`` (a
    range selector is closed at both ends: stop one millisecond before ``end``)."""
    ms = max(1, math.floor((end - start) * 1000) - 1)
    return f"{ms}ms", end - 0.001


def _selector(labels: Labels) -> str:
    name = labels.get(METRIC_NAME, "")
    matchers = ", ".join(
        f'{k}="{_escape(v)}"' for k, v in sorted(labels.to_dict().items()) if k != METRIC_NAME
    )
    return f"{name}{{{matchers}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
