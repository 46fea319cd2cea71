"""The fast exposition parser: golden bodies, agreement with prometheus_client (the
reference), round trips through a writer, Hypothesis-generated bodies, strictness."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as reference_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as reference_text

from watchkeeper.collect.scrape.fastparse import (
    ExpositionSyntaxError,
    _fast_columns,
    parse_columns,
    parse_lines,
    parse_series,
)
from watchkeeper.collect.scrape.parse import format_value
from watchkeeper.core.labels import Labels

Row = tuple[dict[str, str], float, int | None]


def reference(text: str, openmetrics: bool = False) -> list[Row]:
    parser = reference_openmetrics if openmetrics else reference_text
    out: list[Row] = []
    for family in parser(text):
        for s in family.samples:
            ts = None if s.timestamp is None else round(float(s.timestamp) * 1000)
            out.append(({**s.labels, "__name__": s.name}, float(s.value), ts))
    return out


def same(a: list[Row], b: list[Row]) -> bool:
    if len(a) != len(b):
        return False
    for (la, va, ta), (lb, vb, tb) in zip(a, b, strict=True):
        if la != lb or ta != tb:
            return False
        if not (va == vb or (math.isnan(va) and math.isnan(vb))):
            return False
    return True


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write(rows: list[Row]) -> str:
    lines = []
    for labels, value, ts in rows:
        inner = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items() if k != "__name__")
        head = labels["__name__"] + (f"{{{inner}}}" if inner else "")
        lines.append(f"{head} {format_value(value)}" + (f" {ts}" if ts is not None else ""))
    return "\n".join(lines) + "\n"


GOLDEN = """\
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
MSDOS_LINE

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
trailing_comma{a="1",} NaN
""".replace(
    "MSDOS_LINE",
    'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",'
    'error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
)


def test_golden_text_matches_the_reference_parser() -> None:
    ours = parse_lines(GOLDEN)
    assert same(ours, reference(GOLDEN))
    assert ours[2] == (
        {
            "__name__": "msdos_file_access_time_seconds",
            "path": "C:\\DIR\\FILE.TXT",
            "error": 'Cannot find file:\n"FILE.TXT"',
        },
        1.458255915e9,
        None,
    )
    assert ours[4][2] == -3982045


GOLDEN_OM = """\
# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69 1605281325.5
# TYPE process_cpu_seconds counter
process_cpu_seconds_total 4.20072246e+06 # {trace_id="abc"} 1.0 1605281325.0
# EOF
"""


def test_golden_openmetrics_matches_the_reference_parser() -> None:
    ours = parse_lines(GOLDEN_OM, openmetrics=True)
    assert same(ours, reference(GOLDEN_OM, openmetrics=True))
    assert ours[3] == ({"__name__": "go_goroutines"}, 69.0, 1605281325500)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("m{x=} 1\n", "malformed label set"),
        ("m 1 2 3\n", "not a sample line"),
        ('m{x="1" 1\n', "not a sample line"),
        ('m{a="1",a="2"} 1\n', "label 'a' given twice"),
        ("m 1_000\n", "invalid value '1_000'"),
        ("m 1 1.5\n", "invalid timestamp '1.5'"),
        ("1m 1\n", "not a sample line"),
        ('m{a="1" b="2"} 1\n', "labels must be separated by ','"),
        ("# TYPE m countr\nm 1\n", "malformed # TYPE line"),
    ],
)
def test_malformed_lines_are_refused(text: str, why: str) -> None:
    with pytest.raises(ExpositionSyntaxError, match=why):
        parse_lines(text)


def test_openmetrics_needs_eof_and_nothing_after_it() -> None:
    with pytest.raises(ExpositionSyntaxError, match="missing # EOF"):
        parse_lines("m 1\n", openmetrics=True)
    with pytest.raises(ExpositionSyntaxError, match="text after # EOF"):
        parse_lines("m 1\n# EOF\nn 2\n", openmetrics=True)


def test_unknown_escapes_stay_as_written_like_prometheus() -> None:
    assert parse_lines('m{a="x\\qy"} 1\n')[0][0]["a"] == "x\\qy"


names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,10}", fullmatch=True)
values = st.floats(allow_nan=True, allow_infinity=True)
rows = st.lists(
    st.tuples(
        names,
        st.dictionaries(label_names, st.text(max_size=20), max_size=4),
        values,
        st.none() | st.integers(min_value=-(10**13), max_value=10**13),
    ),
    max_size=15,
)


@settings(max_examples=80, deadline=None)
@given(rows)
def test_written_rows_round_trip(
    generated: list[tuple[str, dict[str, str], float, int | None]],
) -> None:
    expected: list[Row] = [({**lbls, "__name__": n}, v, ts) for n, lbls, v, ts in generated]
    text = write(expected)
    assert same(parse_lines(text), expected)


@settings(max_examples=80, deadline=None)
@given(rows)
def test_agrees_with_prometheus_client_on_valid_text(
    generated: list[tuple[str, dict[str, str], float, int | None]],
) -> None:
    text = write([({**lbls, "__name__": n}, v, ts) for n, lbls, v, ts in generated])
    assert same(parse_lines(text), reference(text))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet='ab{}="\\ ,#\n0123.e+-', max_size=40))
def test_arbitrary_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    with contextlib.suppress(ExpositionSyntaxError):
        parse_lines(text)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_the_cached_parser_reads_what_the_plain_one_reads(
    generated: list[tuple[str, dict[str, str], float, int | None]],
) -> None:
    text = write([({**lbls, "__name__": n}, v, ts) for n, lbls, v, ts in generated])
    plain = [(Labels(lbls), v, ts) for lbls, v, ts in parse_lines(text)]
    cache: dict[str, Labels] = {}
    for _ in range(2):  # parsed, then from the cache
        cached = parse_series(text, cache)
        assert [lbls for lbls, _, _ in cached] == [lbls for lbls, _, _ in plain]
        assert same(
            [(lbls.to_dict(), v, ts) for lbls, v, ts in cached],
            [(lbls.to_dict(), v, ts) for lbls, v, ts in plain],
        )


def test_the_cached_parser_parses_a_series_once_and_still_refuses_bad_lines() -> None:
    cache: dict[str, Labels] = {}
    first = parse_series('a{x="1"} 1\nb 2\n', cache)
    second = parse_series('a{x="1"} 3\nb 4\n', cache)
    assert [s[0] for s in first] == [Labels({"__name__": "a", "x": "1"}), Labels({"__name__": "b"})]
    assert all(x[0] is y[0] for x, y in zip(first, second, strict=True))  # the same objects
    assert [s[1] for s in second] == [3.0, 4.0]
    with pytest.raises(ExpositionSyntaxError):
        parse_series('a{x="1"} 1\na{x=} 2\n', cache)


def with_comments(text: str, openmetrics: bool) -> str:
    """``text`` with HELP/TYPE lines (and, in the text format, blank lines) between its
    samples, and OpenMetrics' closing ``# EOF``."""
    out = []
    for i, line in enumerate(filter(None, text.split("\n"))):
        name = line.split("{")[0].split(" ")[0]
        out += [f"# HELP {name} help {i}", f"# TYPE {name} gauge", line]
        if not openmetrics and i % 3 == 1:
            out.append("")
    if openmetrics:
        out.append("# EOF")
    return "\n".join(out) + "\n"


@settings(max_examples=80, deadline=None)
@given(rows, st.booleans())
def test_the_whole_body_reading_agrees_with_the_line_parser_and_is_taken(
    generated: list[tuple[str, dict[str, str], float, int | None]], openmetrics: bool
) -> None:
    untimed = [({**lbls, "__name__": n}, v, None) for n, lbls, v, _ in generated]
    text = with_comments(write(untimed), openmetrics)
    assert _fast_columns(text, {}, openmetrics) is not None  # no line-by-line fallback
    cache: dict[str, Labels] = {}
    for _ in range(2):  # parsed, then from the cache
        labels, values, stamps = parse_columns(text, cache, openmetrics=openmetrics)
        assert stamps is None
        got = [(lbls.to_dict(), v, None) for lbls, v in zip(labels, values, strict=True)]
        expected = [
            (Labels(d).to_dict(), v, ts) for d, v, ts in parse_lines(text, openmetrics=openmetrics)
        ]
        assert same(got, expected)


@pytest.mark.parametrize(
    ("text", "openmetrics", "why"),
    [
        ("a 1\nm 1_000\n", False, "line 2: invalid value '1_000'"),
        ("a 1\nm 1e\n", False, "line 2: invalid value '1e'"),
        ("a 1\nm 1.2.3\n", False, "line 2: invalid value '1.2.3'"),
        ("a 1\nm{x=} 1\n", False, "line 2: malformed label set"),
        ('a 1\nm{a="1",a="2"} 1\n', False, "line 2: label 'a' given twice"),
        ("a 1\n# TYPE m countr\nm 1\n", False, "line 2: malformed # TYPE line"),
        ("a 1\n\nb 2\n# EOF\n", True, "line 2: empty line"),
        ("a 1\n# EOF\nb 2\n", True, "line 3: text after # EOF"),
        ("a 1\n", True, "missing # EOF"),
        ("a 1\n# TYPE a gaugehistogram\n", False, "line 2: malformed # TYPE line"),
        ("a 1\nm Nan\n", False, "line 2: invalid value 'Nan'"),
        ("a 1\nm +NaN\n", False, "line 2: invalid value '\\+NaN'"),
        ("a 1\nm Infinity\n", False, "line 2: invalid value 'Infinity'"),
        ("a 1\n 2\n", False, "line 2: not a sample line"),
        ('a 1\nm{a="x"}y 2\n', False, "line 2: not a sample line"),
    ],
)
def test_bodies_the_whole_body_reading_refuses_are_refused_with_the_line(
    text: str, openmetrics: bool, why: str
) -> None:
    cache: dict[str, Labels] = {}
    with pytest.raises(ExpositionSyntaxError, match=why):
        parse_columns(text, cache, openmetrics=openmetrics)
    assert cache.get("m{x=}") is None


def test_special_values_and_timestamps_are_read_as_the_line_parser_reads_them() -> None:
    text = "a +Inf\nb -Inf\nc NaN\nd 1e3\ne .5\nf 5.\ng -0.25e-2\n"
    labels, values, stamps = parse_columns(text, {})
    assert stamps is None
    assert [lbls["__name__"] for lbls in labels] == list("abcdefg")
    assert values[:2] == [math.inf, -math.inf]
    assert math.isnan(values[2])
    assert values[3:] == [1000.0, 0.5, 5.0, -0.0025]
    _, _, stamps = parse_columns("a 1 1700000000000\nb 2\n", {})
    assert stamps == [1700000000000, None]


@pytest.mark.parametrize(
    "text",
    [
        'm{a="x y"} 1\n',  # a space inside a label value
        'm{a="} 2"} 1\n',  # a brace and a number inside a label value
        "m\t1\nn  2 \r\n",  # tabs, two spaces, a carriage return
        "m 1 1700000000000\n",  # a timestamp
        'm 1 # {trace="x"} 1\n',  # an exemplar
    ],
)
def test_lines_off_the_fast_path_read_as_the_line_parser_reads_them(text: str) -> None:
    labels, values, stamps = parse_columns(text, {})
    expected = parse_lines(text)
    assert [lbls.to_dict() for lbls in labels] == [Labels(d).to_dict() for d, _, _ in expected]
    assert values == [v for _, v, _ in expected]
    assert (stamps or [None] * len(values)) == [ts for _, _, ts in expected]
