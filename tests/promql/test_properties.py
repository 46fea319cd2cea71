"""Property: a range query's value at each step equals the instant query at that time, for
random data and steps (the engine evaluates all steps at once; this pins it to the
one-step path)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.promql import Engine, Vector
from watchkeeper.tsdb.embedded import EmbeddedStore

EXPRESSIONS = [
    "rate(c[2m])",
    "sum by (job) (increase(c[3m]))",
    "max_over_time(g[90s]) - min_over_time(g[90s])",
    "g > bool 5",
    "topk(1, g)",
    "avg without (i) (g offset 1m)",
    "c / on(job, i) g",
    "quantile_over_time(0.5, g[2m])",
    "changes(g[5m]) + resets(c[5m])",
    "deriv(g[3m])",
    'absent(g{job="none"})',
    "max_over_time(rate(c[1m])[3m:30s])",
]

series_values = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False)),
    min_size=1,
    max_size=30,
)


def same(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    data=st.lists(series_values, min_size=1, max_size=4),
    step=st.sampled_from([15, 30, 60, 45]),
    expr=st.sampled_from(EXPRESSIONS),
)
def test_range_query_agrees_with_instant_queries(
    data: list[list[float | None]], step: int, expr: str
) -> None:
    store = EmbeddedStore.memory(clock=FakeClock(0.0))
    try:
        for i, values in enumerate(data):
            job = "a" if i % 2 else "b"
            for name, scale in (("c", 1.0), ("g", -1.0)):
                labels = Labels({"__name__": name, "job": job, "i": str(i)})
                total = 0.0
                samples = []
                for j, v in enumerate(values):
                    if v is None:
                        continue
                    total = total + v if scale > 0 else v
                    samples.append((labels, j * 20_000, total))
                store.append(samples)
        engine = Engine(store, clock=FakeClock(0.0))
        end = 20 * len(max(data, key=len))
        matrix = engine.range(expr, 0, end, step)
        by_time: dict[int, dict[Labels, float]] = {}
        for s in matrix:
            for t, v in s.points():
                by_time.setdefault(t, {})[s.labels] = v
        for t in range(0, end + 1, step):
            result = engine.instant(expr, t)
            assert isinstance(result, Vector)
            got = {smp.labels: smp.value for smp in result}
            want = by_time.get(t * 1000, {})
            assert got.keys() == want.keys(), (expr, t)
            for labels, value in got.items():
                assert same(value, want[labels]), (expr, t, labels, value, want[labels])
    finally:
        store.close()
