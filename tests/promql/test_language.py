"""Language features beyond the alerting basics, checked without the shared test files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from watchkeeper.core.errors import QueryError
from watchkeeper.core.labels import Labels
from watchkeeper.core.regex import RegexError, go_to_python
from watchkeeper.promql import Engine, Matrix, Vector
from watchkeeper.promql.values import Sample, Series, format_value
from watchkeeper.tsdb.base import SeriesStore

from .support import load, series


def vec(result: object) -> list[tuple[Labels, float]]:
    assert isinstance(result, Vector)
    return [(s.labels, s.value) for s in result]


@pytest.fixture
def requests(store: SeriesStore) -> SeriesStore:
    for instance, step in (("0", 10.0), ("1", 20.0), ("2", 30.0)):
        load(store, series("req", job="api", instance=instance), [i * step for i in range(11)])
    return store


def test_topk_orders_by_value(requests: SeriesStore, engine: Engine) -> None:
    got = vec(engine.instant("topk(2, req)", at_s=600))
    assert [(lab["instance"], v) for lab, v in got] == [("2", 300.0), ("1", 200.0)]


def test_quantile_and_count_values(requests: SeriesStore, engine: Engine) -> None:
    assert vec(engine.instant("quantile(0.5, req)", at_s=600)) == [(Labels(), 200.0)]
    got = dict(vec(engine.instant('count_values("v", req)', at_s=600)))
    assert got == {Labels.of(v="100"): 1.0, Labels.of(v="200"): 1.0, Labels.of(v="300"): 1.0}


def test_subquery_evaluates_inner_expression_on_its_step(
    requests: SeriesStore, engine: Engine
) -> None:
    got = vec(engine.instant('max_over_time(req{instance="0"}[5m:1m])', at_s=600))
    assert got == [(Labels.of(job="api", instance="0"), 100.0)]
    # The inner steps are aligned to multiples of the subquery step: 8:30 sees 8:00.
    got = vec(engine.instant('last_over_time(req{instance="0"}[1m:1m])', at_s=510))
    assert got == [(series("req", job="api", instance="0"), 80.0)]


def test_at_modifier_pins_the_evaluation_time(requests: SeriesStore, engine: Engine) -> None:
    result = engine.range('req{instance="0"} @ 120', 0, 600, 60)
    assert isinstance(result, Matrix)
    assert set(result[0].values.tolist()) == {20.0}
    start = engine.range('req{instance="0"} @ start()', 60, 600, 60)
    assert set(start[0].values.tolist()) == {10.0}


def test_group_left_copies_labels_from_the_one_side(store: SeriesStore, engine: Engine) -> None:
    load(store, series("errors", job="api", instance="0"), [3])
    load(store, series("owner", job="api", team="payments"), [1])
    got = vec(engine.instant("errors * on(job) group_left(team) owner", at_s=0))
    assert got == [(Labels.of(job="api", instance="0", team="payments"), 3.0)]


def test_set_operators(requests: SeriesStore, engine: Engine) -> None:
    got = vec(engine.instant('req and req{instance="1"}', at_s=600))
    assert [lab["instance"] for lab, _ in got] == ["1"]
    got = vec(engine.instant('req unless req{instance="1"}', at_s=600))
    assert sorted(lab["instance"] for lab, _ in got) == ["0", "2"]


def test_histogram_quantile_interpolates_in_buckets(store: SeriesStore, engine: Engine) -> None:
    for le, count in (("0.1", 10.0), ("0.5", 60.0), ("+Inf", 100.0)):
        load(store, series("lat_bucket", le=le), [count])
    got = vec(engine.instant("histogram_quantile(0.5, lat_bucket)", at_s=0))
    assert got == [(Labels(), pytest.approx(0.1 + 0.4 * 40 / 50))]


def test_label_replace_and_invalid_regex(requests: SeriesStore, engine: Engine) -> None:
    got = vec(engine.instant('label_replace(req, "host", "h-$1", "instance", "(.*)")', 600))
    assert sorted(lab["host"] for lab, _ in got) == ["h-0", "h-1", "h-2"]
    with pytest.raises(QueryError, match="invalid regular expression"):
        engine.instant('label_replace(req, "a", "b", "instance", "(")', at_s=600)


def test_many_to_many_without_group_modifier_is_an_error(
    store: SeriesStore, engine: Engine
) -> None:
    load(store, series("a", job="x", i="1"), [1])
    load(store, series("a", job="x", i="2"), [1])
    load(store, series("b", job="x"), [1])
    with pytest.raises(QueryError, match="many-to-one matching must be explicit"):
        engine.instant("a + on(job) b", at_s=0)


def test_go_regex_translation() -> None:
    assert go_to_python("(?i)foo") == "(?i:foo)"
    assert go_to_python("a((?i)b)c") == "a((?i:b))c"
    assert go_to_python("[[:digit:]]+") == "[0-9]+"
    with pytest.raises(RegexError):
        go_to_python(r"\pL")


def test_values_are_formatted_like_prometheus() -> None:
    assert [format_value(v) for v in (1.0, 0.5, 1e-7, float("inf"), float("nan"))] == [
        "1",
        "0.5",
        "0.0000001",
        "+Inf",
        "NaN",
    ]


def test_json_text_equals_json_of_to_json() -> None:
    values = np.array([1.0, -0.0, 1e20, 1e-7, 2.5, float("nan"), float("inf"), 2.0**53])
    stamps = np.arange(values.shape[0], dtype=np.int64) * 1500
    matrix = Matrix((Series(Labels.of(job='a"b'), stamps, values),))
    assert json.loads(matrix.json_text()) == json.loads(json.dumps(matrix.to_json()))
    vector = Vector(tuple(Sample(Labels.of(i=str(i)), v, 2000) for i, v in enumerate(values)), 2000)
    assert json.loads(vector.json_text()) == vector.to_json()
