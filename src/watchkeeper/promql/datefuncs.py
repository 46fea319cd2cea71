"""Date functions (``year``, ``month``, ``day_of_month``, ``day_of_year``,
``day_of_week``, ``hour``, ``minute``, ``days_in_month``), in UTC, vectorised with NumPy
datetimes. Without an argument they read the evaluation time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from watchkeeper.core.labels import Labels
from watchkeeper.promql.ast import Call
from watchkeeper.promql.model import F64, I64, Steps, Value, drop_names, merge_same_labels

if TYPE_CHECKING:
    from watchkeeper.promql.engine import Evaluator

_SECOND = np.dtype("datetime64[s]")


def _parts(seconds: I64) -> dict[str, I64]:
    dt = seconds.astype(_SECOND)
    days = dt.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    years = dt.astype("datetime64[Y]")
    next_month = months + np.timedelta64(1, "M")
    secs_of_day = np.mod(seconds, 86400)
    return {
        "year": years.astype(np.int64) + 1970,
        "month": np.mod(months.astype(np.int64), 12) + 1,
        "day_of_month": (days - months.astype("datetime64[D]")).astype(np.int64) + 1,
        "day_of_year": (days - years.astype("datetime64[D]")).astype(np.int64) + 1,
        "day_of_week": np.mod(days.astype(np.int64) + 4, 7),
        "hour": secs_of_day // 3600,
        "minute": np.mod(secs_of_day // 60, 60),
        "days_in_month": (
            next_month.astype("datetime64[D]") - months.astype("datetime64[D]")
        ).astype(np.int64),
    }


DATE_FUNCTIONS = (
    "year",
    "month",
    "day_of_month",
    "day_of_year",
    "day_of_week",
    "hour",
    "minute",
    "days_in_month",
)


def date_part(name: str, values: F64) -> F64:
    finite = np.isfinite(values)
    seconds = np.trunc(np.where(finite, values, 0.0)).astype(np.int64)
    part = _parts(seconds.ravel())[name].reshape(values.shape).astype(np.float64)
    return np.where(finite, part, np.nan)


def date_function(name: str) -> Callable[[Evaluator, Call, I64], Value]:
    def impl(ev: Evaluator, node: Call, times: I64) -> Value:
        k = times.shape[0]
        if not node.args:
            values = date_part(name, (times // 1000).astype(np.float64)).reshape(1, k)
            return Steps([Labels()], values, np.ones((1, k), dtype=bool))
        v = ev.eval_steps(node.args[0], times)
        labels = drop_names(v.labels)
        return merge_same_labels(Steps(labels, date_part(name, v.values), v.present))

    return impl
