"""Exposition parsing: golden samples, format selection and error locations."""

from __future__ import annotations

import math

import pytest

from watchkeeper.collect.base import CollectFailure, TargetError
from watchkeeper.collect.scrape.parse import format_value, is_openmetrics, parse_exposition

GOLDEN_TEXT = """\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 1027 1395066363000
http_requests_total{method="POST",code="400"} 3
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# A comment line
escaped{path="C:\\\\dir\\\\",msg="say \\"hi\\"\\n"} +Inf
nan_metric NaN
"""


def test_text_format_golden_samples() -> None:
    samples = parse_exposition(GOLDEN_TEXT, "text/plain; version=0.0.4")
    got = [(s.labels, s.value, s.timestamp_ms) for s in samples]
    assert got[:5] == [
        (
            {"__name__": "http_requests_total", "method": "GET", "code": "200"},
            1027.0,
            1395066363000,
        ),
        ({"__name__": "http_requests_total", "method": "POST", "code": "400"}, 3.0, None),
        ({"__name__": "rpc_duration_seconds", "quantile": "0.5"}, 4773.0, None),
        ({"__name__": "rpc_duration_seconds_sum"}, 1.7560473e07, None),
        ({"__name__": "rpc_duration_seconds_count"}, 2693.0, None),
    ]
    assert got[5] == (
        {"__name__": "escaped", "path": "C:\\dir\\", "msg": 'say "hi"\n'},
        math.inf,
        None,
    )
    assert math.isnan(got[6][1])


def test_openmetrics_is_chosen_by_content_type() -> None:
    assert is_openmetrics("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert not is_openmetrics("text/plain; version=0.0.4")
    assert not is_openmetrics(None)
    om = "# TYPE a counter\na_total 1\na_created 1600000000\n# EOF\n"
    names = [s.labels["__name__"] for s in parse_exposition(om, "application/openmetrics-text")]
    assert names == ["a_total", "a_created"]


def test_openmetrics_without_eof_is_malformed() -> None:
    with pytest.raises(TargetError) as err:
        parse_exposition("# TYPE a gauge\na 1\n", "application/openmetrics-text")
    assert err.value.reason is CollectFailure.BAD_RESPONSE
    assert "missing # EOF at the end" in str(err.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [('a 1\nb{x="1" 2\n', 2), ("x\n", 1), ("a 1\nb 2\nc 3\nd{} nope\n", 4)],
)
def test_error_names_the_first_bad_line(text: str, line: int) -> None:
    with pytest.raises(TargetError, match=f"at line {line}:"):
        parse_exposition(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.25, "0.25"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN")],
)
def test_format_value_round_trips_through_the_parser(value: float, text: str) -> None:
    assert format_value(value) == text
    parsed = parse_exposition(f"m {text}\n")[0].value
    assert parsed == value or (math.isnan(parsed) and math.isnan(value))
