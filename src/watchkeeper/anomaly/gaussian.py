"""``windowed_gaussian``: the classic baseline, kept for comparison.

Each value is compared with the mean and standard deviation of the ``window`` values
before it: ``z = |x - mean| / std``. The score is ``u / (1 + u)`` with ``u = z / z_alert``,
so a deviation of ``z_alert`` standard deviations scores 0.5. There is no refractory
period, so a long excursion keeps scoring high: this is what the NAB scoreboard calls
"Windowed Gaussian".

Means and variances are sums taken in a fixed order (two passes), so the streaming and
the vectorised path agree bit for bit.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike
from pydantic import Field

from watchkeeper.anomaly.base import (
    DetectorStateError,
    FloatArray,
    JSONState,
    as_series,
    check_state_header,
    pack_array,
    ratio_score,
    ratio_scores,
    state_header,
    unpack_array,
)
from watchkeeper.config.base import StrictModel

MAX_ABS_VALUE = 1e150  # squares of larger values could overflow


class WindowedGaussianParams(StrictModel):
    window: int = Field(default=500, ge=2, le=100_000, description="values in the baseline")
    z_alert: float = Field(default=4.0, gt=0.0, le=1000.0, description="|z| that scores 0.5")


class WindowedGaussianDetector:
    """See the module docstring."""

    name: ClassVar[str] = "windowed_gaussian"
    params_model: ClassVar[type[StrictModel]] = WindowedGaussianParams

    def __init__(self, params: WindowedGaussianParams | None = None, **overrides: Any) -> None:
        if overrides:
            merged = (params or WindowedGaussianParams.model_validate({})).model_dump() | overrides
            params = WindowedGaussianParams.model_validate(merged)
        self._p = params or WindowedGaussianParams.model_validate({})
        self._buf: deque[float] = deque(maxlen=self._p.window)

    @property
    def params(self) -> Mapping[str, Any]:
        return self._p.model_dump()

    def update(self, timestamp: float, value: float) -> float:
        x = float(value)
        if not abs(x) <= MAX_ABS_VALUE:
            return 0.0
        score = 0.0
        if len(self._buf) == self._p.window:
            prev = list(self._buf)
            total = prev[0]
            for item in prev[1:]:
                total += item
            mean = total / self._p.window
            d = prev[0] - mean
            sq = d * d
            for item in prev[1:]:
                d = item - mean
                sq += d * d
            std = math.sqrt(sq / self._p.window)
            dev = abs(x - mean)
            if std > 0.0:
                score = ratio_score(dev / std / self._p.z_alert)
            elif dev > 0.0:
                score = 1.0
        self._buf.append(x)
        return score

    def score_batch(self, timestamps: ArrayLike, values: ArrayLike) -> FloatArray:
        _, v = as_series(timestamps, values)
        out = np.zeros(len(v))
        with np.errstate(invalid="ignore"):
            ok = np.abs(v) <= MAX_ABS_VALUE
        xs = v[ok]
        if xs.size:
            out[ok] = self._score_finite(xs)
        return out

    def _score_finite(self, xs: FloatArray) -> FloatArray:
        w = self._p.window
        buf = np.fromiter(self._buf, dtype=np.float64, count=len(self._buf))
        ext = np.concatenate((buf, xs))
        scores = np.zeros(len(xs))
        first = max(w - len(buf), 0)  # first new sample with a full window before it
        if first < len(xs):
            pos = len(buf) + np.arange(first, len(xs))
            win = sliding_window_view(ext, w)[pos - w]
            total = win[:, 0].copy()
            for c in range(1, w):
                total += win[:, c]
            mean = total / w
            d = win[:, 0] - mean
            sq = d * d
            for c in range(1, w):
                d = win[:, c] - mean
                sq += d * d
            std = np.sqrt(sq / w)
            dev = np.abs(ext[pos] - mean)
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.where(std > 0.0, dev / std / self._p.z_alert, 0.0)
            part = ratio_scores(u)
            part[(std == 0.0) & (dev > 0.0)] = 1.0
            scores[first:] = part
        self._buf.extend(xs[-w:].tolist())
        return scores

    def state(self) -> JSONState:
        return state_header(self.name, self.params, {"window": pack_array(list(self._buf))})

    def restore(self, state: Mapping[str, Any]) -> None:
        data = check_state_header(state, self.name, self.params)
        values = unpack_array(data.get("window"), "state data 'window'")
        if len(values) > self._p.window or not np.all(np.abs(values) <= MAX_ABS_VALUE):
            raise DetectorStateError(
                f"state data 'window' must hold at most {self._p.window} finite values"
            )
        self._buf = deque(values.tolist(), maxlen=self._p.window)
