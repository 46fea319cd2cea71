"""The engine on the expressions alert rules use most, against the embedded store."""

from __future__ import annotations

import math
import re

import pytest

from watchkeeper.core.errors import QueryError, QueryParseError
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, Matrix, Scalar, Vector, parse, referenced_metrics
from watchkeeper.tsdb.base import STALE_NAN, SeriesStore

from .support import load, series


def as_dict(result: object) -> dict[Labels, float]:
    assert isinstance(result, Vector)
    return {s.labels: s.value for s in result}


def test_selector_returns_latest_sample_within_lookback(store: SeriesStore, engine: Engine) -> None:
    load(store, series("up", job="api"), [1, 0, 1])
    assert as_dict(engine.instant("up", at_s=90)) == {series("up", job="api"): 0.0}
    assert as_dict(engine.instant("up", at_s=120 + 300)) == {series("up", job="api"): 1.0}
    assert as_dict(engine.instant("up", at_s=120 + 301)) == {}


def test_staleness_marker_hides_series_until_next_sample(
    store: SeriesStore, engine: Engine
) -> None:
    load(store, series("up"), [1, STALE_NAN, 2], step_s=10)
    assert as_dict(engine.instant("up", at_s=5)) == {series("up"): 1.0}
    assert as_dict(engine.instant("up", at_s=15)) == {}
    assert as_dict(engine.instant("up", at_s=20)) == {series("up"): 2.0}


def test_all_matcher_types_select_the_right_series(store: SeriesStore, engine: Engine) -> None:
    for job in ("api", "web", "worker"):
        load(store, series("up", job=job), [1])
    got = engine.instant('up{job=~"w.*", job!="worker"}', at_s=0)
    assert set(as_dict(got)) == {series("up", job="web")}
    got = engine.instant('up{job!~"w.*"}', at_s=0)
    assert set(as_dict(got)) == {series("up", job="api")}


def test_go_style_case_insensitive_regex_is_accepted(store: SeriesStore, engine: Engine) -> None:
    load(store, series("up", job="API"), [1])
    assert set(as_dict(engine.instant('up{job=~"(?i)api"}', at_s=0))) == {series("up", job="API")}


def test_rate_extrapolates_like_prometheus(store: SeriesStore, engine: Engine) -> None:
    load(store, series("requests_total"), [0, 60, 120, 180, 240, 300], step_s=60)
    # 5 intervals of 60 s at 1/s; the window [0, 300] is covered exactly.
    assert as_dict(engine.instant("rate(requests_total[5m])", at_s=300)) == {Labels(): 1.0}
    assert as_dict(engine.instant("increase(requests_total[5m])", at_s=300)) == {Labels(): 300.0}


def test_rate_handles_counter_reset(store: SeriesStore, engine: Engine) -> None:
    load(store, series("c"), [10, 20, 5, 15], step_s=60)
    got = as_dict(engine.instant("increase(c[3m])", at_s=180))
    # 10 before the reset, 5 + 10 after: 25 over 3 sampled minutes.
    assert got == {Labels(): pytest.approx(25.0)}


def test_sum_by_and_without_group_series(store: SeriesStore, engine: Engine) -> None:
    load(store, series("x", job="a", instance="1"), [1])
    load(store, series("x", job="a", instance="2"), [2])
    load(store, series("x", job="b", instance="1"), [4])
    assert as_dict(engine.instant("sum by (job) (x)", at_s=0)) == {
        Labels.of(job="a"): 3.0,
        Labels.of(job="b"): 4.0,
    }
    assert as_dict(engine.instant("max without (instance) (x)", at_s=0)) == {
        Labels.of(job="a"): 2.0,
        Labels.of(job="b"): 4.0,
    }


def test_comparison_filters_and_bool_returns_zero_or_one(
    store: SeriesStore, engine: Engine
) -> None:
    load(store, series("errors", job="a"), [5])
    load(store, series("errors", job="b"), [50])
    assert as_dict(engine.instant("errors > 10", at_s=0)) == {series("errors", job="b"): 50.0}
    assert as_dict(engine.instant("errors > bool 10", at_s=0)) == {
        Labels.of(job="a"): 0.0,
        Labels.of(job="b"): 1.0,
    }


def test_vector_division_matches_one_to_one(store: SeriesStore, engine: Engine) -> None:
    load(store, series("errors", job="a"), [5])
    load(store, series("total", job="a"), [50])
    load(store, series("total", job="b"), [10])
    assert as_dict(engine.instant("errors / total", at_s=0)) == {Labels.of(job="a"): 0.1}


def test_offset_reads_earlier_samples(store: SeriesStore, engine: Engine) -> None:
    load(store, series("x"), [1, 2, 3])
    assert as_dict(engine.instant("x offset 2m", at_s=120)) == {series("x"): 1.0}


def test_absent_reports_missing_series_with_equality_labels(engine: Engine) -> None:
    assert as_dict(engine.instant('absent(up{job="api", env=~"p.*"})', at_s=0)) == {
        Labels.of(job="api"): 1.0
    }


def test_absent_is_empty_when_series_exists(store: SeriesStore, engine: Engine) -> None:
    load(store, series("up", job="api"), [1])
    assert as_dict(engine.instant('absent(up{job="api"})', at_s=0)) == {}


def test_over_time_functions(store: SeriesStore, engine: Engine) -> None:
    load(store, series("g"), [1, 5, 3], step_s=60)
    for expr, want in [
        ("avg_over_time(g[2m])", 3.0),
        ("max_over_time(g[2m])", 5.0),
        ("min_over_time(g[2m])", 1.0),
        ("sum_over_time(g[2m])", 9.0),
        ("count_over_time(g[2m])", 3.0),
        ("last_over_time(g[2m])", 3.0),
    ]:
        assert list(as_dict(engine.instant(expr, at_s=120)).values()) == [want], expr


def test_scalar_arithmetic_returns_scalar(engine: Engine) -> None:
    result = engine.instant("1 + 2 * 3", at_s=10)
    assert result == Scalar(7.0, 10_000)


def test_range_query_returns_matrix_sorted_by_labels(store: SeriesStore, engine: Engine) -> None:
    load(store, series("x", job="b"), [1, 2, 3])
    load(store, series("x", job="a"), [4, 5, 6])
    result = engine.range("x", 0, 120, 60)
    assert isinstance(result, Matrix)
    assert [s.labels for s in result] == [series("x", job="a"), series("x", job="b")]
    assert result[0].points() == [(0, 4.0), (60_000, 5.0), (120_000, 6.0)]


def test_duplicate_labelset_after_dropping_names_is_an_error(
    store: SeriesStore, engine: Engine
) -> None:
    load(store, series("a", job="x"), [1])
    load(store, series("b", job="x"), [1])
    with pytest.raises(QueryError, match="same labelset"):
        engine.instant('abs({__name__=~"a|b"})', at_s=0)


def test_parse_error_names_the_expression() -> None:
    with pytest.raises(QueryParseError, match=re.escape("'sum(rate(x[5m])'")):
        parse("sum(rate(x[5m])")


def test_referenced_metrics_lists_names_or_none() -> None:
    assert referenced_metrics("errors / on(job) total > 0.1") == {"errors", "total"}
    assert referenced_metrics('{job="api"}') is None


def test_range_query_rejects_bad_step(engine: Engine) -> None:
    with pytest.raises(QueryParseError, match="step"):
        engine.range("up", 0, 10, 0)


def test_range_query_needs_vector_or_scalar(engine: Engine) -> None:
    with pytest.raises(QueryParseError, match="range vector"):
        engine.range("up[5m]", 0, 10, 1)


def test_nan_values_survive(store: SeriesStore, engine: Engine) -> None:
    load(store, series("x"), [math.nan])
    assert math.isnan(as_dict(engine.instant("x", at_s=0))[series("x")])


def test_samples_gives_rule_shaped_pairs(store: SeriesStore, engine: Engine) -> None:
    load(store, series("up", job="api"), [1])
    assert engine.samples("up", 0) == [(series("up", job="api"), 1.0)]
    assert engine.samples("2 * 3", 0) == [(Labels(), 6.0)]
    with pytest.raises(QueryError, match="rules need"):
        engine.samples("up[5m]", 0)
