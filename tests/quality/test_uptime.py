"""The uptime / SLA report over synthetic check results in the embedded store: per day,
per check and in total, with the CSV and the period parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine
from watchkeeper.quality.uptime import UptimeReporter, day_windows, parse_period, parse_time
from watchkeeper.state.db import Database
from watchkeeper.tsdb.embedded import EmbeddedStore

from .support import alert, episode

DAY0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
STEP = 60


def probes(
    store: EmbeddedStore, check: str, down: list[tuple[float, float]], days: int = 3
) -> None:
    labels = Labels.of(__name__="probe_success", service="frontend", check=check)
    samples = []
    for i in range(days * 86400 // STEP):
        ts = DAY0 + i * STEP
        ok = not any(a <= ts < b for a, b in down)
        samples.append((labels, int(ts * 1000), 1.0 if ok else 0.0))
    store.append(samples)


@pytest.fixture
def reporter(state_db: Database) -> tuple[UptimeReporter, AlertHistory, EmbeddedStore]:
    clock = FakeClock(DAY0 + 3 * 86400)
    store = EmbeddedStore.memory(clock=clock)
    engine = Engine(store, clock=clock)
    history = AlertHistory(state_db, clock)
    return UptimeReporter(query=engine.samples, history=history), history, store


def test_availability_per_day_per_check_and_in_total(
    reporter: tuple[UptimeReporter, AlertHistory, EmbeddedStore],
) -> None:
    uptime, history, store = reporter
    # homepage: down one hour on day 2; login: down 30 minutes on day 3
    probes(store, "homepage", [(DAY0 + 86400 + 3600, DAY0 + 86400 + 7200)])
    probes(store, "login", [(DAY0 + 2 * 86400, DAY0 + 2 * 86400 + 1800)])
    episode(
        history, alert("ServiceDown", service="frontend"), DAY0 + 86400 + 3700, DAY0 + 86400 + 7300
    )
    episode(history, alert("ServiceDown", service="backend"), DAY0 + 100, DAY0 + 200)
    report = uptime.report("frontend", DAY0, DAY0 + 3 * 86400, now=DAY0 + 3 * 86400)
    assert report.source == "probe_success"
    days = [(w.availability, n) for w, n in report.days]
    assert days == [
        (1.0, 0),
        (pytest.approx(1 - 60 / 2880), 1),
        (pytest.approx(1 - 30 / 2880), 0),
    ]
    assert report.total.availability == pytest.approx(1 - 90 / (3 * 2880))
    assert report.total.downtime_seconds == pytest.approx(90 / 2 * 60)
    assert [(name, w.availability) for name, w in report.checks] == [
        ("homepage", pytest.approx(1 - 60 / 4320)),
        ("login", pytest.approx(1 - 30 / 4320)),
    ]
    (incident,) = report.incidents
    assert incident.service == "frontend"
    assert report.csv().splitlines() == [
        "service,day,availability_percent,downtime_seconds,incidents,source",
        "frontend,2026-03-01,100,0,0,probe_success",
        "frontend,2026-03-02,97.9167,1800,1,probe_success",
        "frontend,2026-03-03,98.9583,900,0,probe_success",
        "frontend,total,98.9583,2700,1,probe_success",
    ]
    d = report.to_dict()
    assert d["availability_percent"] == pytest.approx(98.9583, abs=1e-4)
    assert d["days"][1]["day"] == "2026-03-02"


def test_a_service_without_http_checks_is_measured_by_up(
    reporter: tuple[UptimeReporter, AlertHistory, EmbeddedStore],
) -> None:
    uptime, _, store = reporter
    labels = Labels.of(__name__="up", service="database", check="supabase")
    store.append([(labels, int((DAY0 + i * 60) * 1000), float(i % 10 != 0)) for i in range(1440)])
    report = uptime.report("database", DAY0, DAY0 + 86400, now=DAY0 + 86400)
    assert report.source == "up"
    assert report.total.availability == pytest.approx(0.9)


def test_a_service_without_data_says_so(
    reporter: tuple[UptimeReporter, AlertHistory, EmbeddedStore],
) -> None:
    uptime, _, _ = reporter
    report = uptime.report("ghost", DAY0, DAY0 + 86400, now=DAY0 + 86400)
    assert report.source is None
    assert report.total.availability is None
    assert report.csv().splitlines()[-1] == "ghost,total,,,0,"


def test_days_are_cut_at_utc_midnight() -> None:
    windows = day_windows(DAY0 + 3600, DAY0 + 86400 + 60)
    assert windows == [(DAY0 + 3600, DAY0 + 86400), (DAY0 + 86400, DAY0 + 86400 + 60)]


def test_periods_parse_from_dates_times_and_durations() -> None:
    assert parse_time("2026-03-01", "start") == DAY0
    assert parse_time("2026-03-01T00:00:00Z", "start") == DAY0
    assert parse_time(str(DAY0), "start") == DAY0
    assert parse_period(None, None, "7d", DAY0) == (DAY0 - 7 * 86400, DAY0)
    assert parse_period("2026-03-01", "2026-03-02", None, 0) == (DAY0, DAY0 + 86400)
    with pytest.raises(UserInputError, match="is not a time; write a date"):
        parse_period("yesterday", None, None, DAY0)
    with pytest.raises(UserInputError, match="start must be before end"):
        parse_period("2026-03-02", "2026-03-01", None, DAY0)
    with pytest.raises(UserInputError, match="period: invalid duration"):
        parse_period(None, None, "a week", DAY0)
    with pytest.raises(UserInputError, match="at most 400 days"):
        parse_period(None, None, "500d", DAY0)


def test_times_out_of_range_are_client_mistakes() -> None:
    with pytest.raises(UserInputError, match="between 1970 and the end of 9999"):
        parse_time("1e308", "end")
    with pytest.raises(UserInputError, match="between 1970"):
        parse_time("nan", "start")
    with pytest.raises(UserInputError, match="before 1970"):
        parse_period(None, "1970-06-01", "300d", 0)
