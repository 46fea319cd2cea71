"""Matcher syntax (golden cases and a round-trip property) and time intervals (every field,
negative days of the month, time zones, and where they change)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting.matchers import MatcherError, parse_matcher, parse_matchers
from watchkeeper.alerting.silences import matches_every_alert
from watchkeeper.alerting.timeintervals import (
    TimeIntervalConfig,
    compile_intervals,
    parse_day_of_month_range,
)
from watchkeeper.core.labels import Matcher, MatchOp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a="b"', [Matcher("a", MatchOp.EQUAL, "b")]),
        ('c=~"d|e"', [Matcher("c", MatchOp.REGEX, "d|e")]),
        ("severity!=info", [Matcher("severity", MatchOp.NOT_EQUAL, "info")]),
        ('x !~ "a.*"', [Matcher("x", MatchOp.NOT_REGEX, "a.*")]),
        ("a=", [Matcher("a", MatchOp.EQUAL, "")]),
        (
            '{foo = "bar", dings != "bums", }',
            [Matcher("foo", MatchOp.EQUAL, "bar"), Matcher("dings", MatchOp.NOT_EQUAL, "bums")],
        ),
        (
            "foo=bar,dings!=bums",
            [Matcher("foo", MatchOp.EQUAL, "bar"), Matcher("dings", MatchOp.NOT_EQUAL, "bums")],
        ),
        (
            r'{quote="She said: \"Hi, ladies!\""}',
            [Matcher("quote", MatchOp.EQUAL, 'She said: "Hi, ladies!"')],
        ),
        (r'path="C:\temp"', [Matcher("path", MatchOp.EQUAL, "C:\\temp")]),
        (r'n="a\nb"', [Matcher("n", MatchOp.EQUAL, "a\nb")]),
    ],
)
def test_matchers_parse_as_alertmanager_parses_them(text: str, expected: list[Matcher]) -> None:
    assert parse_matchers(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no operator", 'write name="value" with one of the operators'),
        ('a="unterminated', "closing double quote is missing"),
        ('a="x"y"', "unescaped double quote"),
        ('a=~"("', "invalid regular expression"),
        ('1a="b"', 'write name="value"'),
    ],
)
def test_bad_matchers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=message):
        parse_matcher(text)


label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(deadline=None)  # the machine is shared: time is not what this tests
@given(label_names, st.sampled_from([MatchOp.EQUAL, MatchOp.NOT_EQUAL]), values)
def test_a_printed_matcher_parses_back_to_itself(name: str, op: MatchOp, value: str) -> None:
    m = Matcher(name, op, value)
    assert parse_matchers(str(m)) == [m]
    assert parse_matchers("{" + str(m) + "," + str(m) + "}") == [m, m]


@pytest.mark.parametrize(
    ("matchers", "everything"),
    [
        (['alertname=~".+"'], True),
        (['alertname=~".*"', 'job=~".*"'], True),
        (['alertname!="x"'], False),
        (['job=~".+"'], False),  # only alerts that have a job label
        (['alertname=~"a|.*"'], True),
        (['severity="critical"'], False),
    ],
)
def test_matches_every_alert_spots_catch_all_silences(
    matchers: list[str], everything: bool
) -> None:
    parsed = [m for text in matchers for m in parse_matchers(text)]
    assert matches_every_alert(parsed) is everything


def interval(**spec: object) -> object:
    config = TimeIntervalConfig.model_validate({"name": "t", "time_intervals": [spec]})
    return compile_intervals([config])["t"]


def at(text: str, zone: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_times_are_start_inclusive_end_exclusive() -> None:
    ti = interval(times=[{"start_time": "09:00", "end_time": "17:00"}])
    assert ti.contains(at("2026-03-02T09:00"))
    assert ti.contains(at("2026-03-02T16:59"))
    assert not ti.contains(at("2026-03-02T17:00"))
    assert not ti.contains(at("2026-03-02T08:59"))


def test_weekdays_months_and_years_are_inclusive_ranges() -> None:
    ti = interval(weekdays=["monday:friday"], months=["january:march", "12"], years=["2026"])
    assert ti.contains(at("2026-03-06T12:00"))  # Friday
    assert not ti.contains(at("2026-03-07T12:00"))  # Saturday
    assert not ti.contains(at("2026-04-06T12:00"))  # Monday in April
    assert ti.contains(at("2026-12-07T12:00"))
    assert not ti.contains(at("2027-01-04T12:00"))


def test_negative_days_count_from_the_end_of_the_month() -> None:
    ti = interval(days_of_month=["-3:-1"])
    assert ti.contains(at("2026-02-26T00:00"))  # February 2026 has 28 days
    assert not ti.contains(at("2026-02-25T23:59"))
    assert ti.contains(at("2026-03-29T00:00"))
    assert not ti.contains(at("2026-03-28T00:00"))
    whole = interval(days_of_month=["1:-1"])
    assert whole.contains(at("2026-02-28T10:00"))


def test_a_location_makes_times_local_across_daylight_saving() -> None:
    ti = interval(times=[{"start_time": "09:00", "end_time": "10:00"}], location="Europe/Berlin")
    assert ti.contains(at("2026-01-15T09:30", "Europe/Berlin"))  # UTC+1
    assert ti.contains(at("2026-07-15T09:30", "Europe/Berlin"))  # UTC+2
    assert not ti.contains(at("2026-07-15T09:30", "UTC"))


def test_next_and_previous_change_find_the_boundaries() -> None:
    ti = interval(times=[{"start_time": "22:00", "end_time": "24:00"}])
    t = at("2026-03-02T21:00")
    assert ti.next_change(t) == at("2026-03-02T22:00")
    assert ti.next_change(at("2026-03-02T22:30")) == at("2026-03-03T00:00")
    assert ti.prev_change(at("2026-03-02T23:00")) == at("2026-03-02T22:00")
    weekend = interval(weekdays=["saturday", "sunday"])
    assert weekend.next_change(at("2026-03-04T12:00")) == at("2026-03-07T00:00")


def test_day_of_month_ranges_are_validated_like_alertmanager() -> None:
    assert parse_day_of_month_range("1:-1") == (1, -1)
    with pytest.raises(ValueError, match="always before start"):
        parse_day_of_month_range("-1:-3")
    with pytest.raises(ValueError, match="not a valid day of the month"):
        parse_day_of_month_range("32")


def test_the_clock_start_is_2023_11_14_2213_utc() -> None:
    assert datetime.fromtimestamp(1_700_000_000, UTC).isoformat() == "2023-11-14T22:13:20+00:00"
