"""PromQL for Watchkeeper: an engine on the AST of the ``promql-parser`` package.

Usage::

    from watchkeeper.promql import Engine, parse, referenced_metrics

    engine = Engine(store, clock=SystemClock())      # store: a tsdb SeriesStore
    result = engine.instant('sum by (job) (rate(http_requests_total[5m]))', at_s=now)
    for sample in result:                             # a Vector of Samples
        print(sample.labels, sample.value)
    matrix = engine.range("up", start_s, end_s, step_s=15)   # a Matrix of Series

* ``Engine(store, *, clock, lookback_s=300, max_samples=50_000_000, timeout_s=120,
  default_subquery_step_s=60, experimental_functions=False)``
* ``engine.instant(expr, at_s=None, *, timeout_s=None) -> Vector | Scalar | String | Matrix``
  (``at_s`` defaults to ``clock.now()``); ``engine.instant_ms(expr, at_ms)``.
* ``engine.samples(expr, at_s) -> list[tuple[Labels, float]]``: an instant query in the
  shape the rule manager's ``query`` callable takes (a scalar is one sample, empty labels).
* ``engine.range(expr, start_s, end_s, step_s, *, timeout_s=None) -> Matrix``;
  ``engine.range_ms(...)`` takes milliseconds.
* ``parse(expr) -> Node`` validates (and caches) an expression; a mistake raises
  :class:`~watchkeeper.core.errors.QueryParseError` whose message quotes the expression.
* ``referenced_metrics(expr) -> set[str] | None``: metric names the expression reads,
  ``None`` when a selector has no fixed name (such rules must run on every append).

Errors (all :class:`~watchkeeper.core.errors.QueryError`): ``QueryParseError`` (bad
expression or parameters, HTTP 400 ``bad_data``), ``QueryTimeoutError`` (503
``timeout``), ``QueryLimitError`` (too many samples, 422 ``execution``) and plain
``QueryError`` for evaluation errors such as duplicate label sets (422 ``execution``).

Semantics follow Prometheus 2.53: 5-minute lookback with staleness markers, closed range
windows ``[t - range, t]``, the extrapolation rules of ``rate``/``increase``/``delta``,
metric names dropped by functions and arithmetic, ``@`` (with ``start()``/``end()``),
negative offsets and subqueries aligned to their step. Native histograms are not stored,
so the ``histogram_*`` functions other than ``histogram_quantile`` return nothing.

Results (:mod:`watchkeeper.promql.values`) carry labels as
:class:`~watchkeeper.core.labels.Labels`, timestamps in milliseconds and ``to_json()`` in
the Prometheus HTTP API's shape.

Limits: ``max_samples`` bounds the samples a query loads from the store (all selectors
together) and the size of any intermediate vector; ``timeout_s`` is checked between
evaluation steps. The experimental functions of Prometheus 2.53 (``sort_by_label``,
``sort_by_label_desc``, ``mad_over_time``) need ``experimental_functions=True``.

Also here: the HTTP API (:func:`watchkeeper.promql.api.build_router`, with the provider
protocols for rules, alerts and metadata in :mod:`watchkeeper.promql.api_views`) and the
runner for Prometheus' PromQL test files (:mod:`watchkeeper.promql.promqltest`, the
``watchkeeper promql-test`` command).

Module map: ``parse``/``ast`` (promql-parser AST lowered to engine nodes), ``engine``
(queries, limits), ``model`` (step matrices), ``selectors`` (instant, range, subqueries),
``rangefuncs``/``windows`` (functions over ranges), ``functions``/``labelfuncs``/
``datefuncs``/``histogram``, ``aggregations``, ``binary``, ``regex`` (Go regexes).
"""

from watchkeeper.promql.ast import Node, parse, referenced_metrics
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.values import Matrix, Result, Sample, Scalar, Series, String, Vector

__all__ = [
    "Engine",
    "Matrix",
    "Node",
    "Result",
    "Sample",
    "Scalar",
    "Series",
    "String",
    "Vector",
    "parse",
    "referenced_metrics",
]
