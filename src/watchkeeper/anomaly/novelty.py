"""``novelty``: multi-view range novelty with a refractory period.

The detector watches three short-term *views* of the series, each computed from the last
few samples only:

* **level**: the median of the last ``level_window`` values (a robust current value);
* **mean**: the mean of the last ``window`` values (catches shifts and bursts of spikes);
* **spread**: the range (max - min) of the last ``window`` values (catches spikes and
  changes in variability, up or down).

For each view it keeps the last ``history`` view values. A new view value is *novel* when
it leaves the range [min, max] of that history; its exceedance is the distance outside
the range divided by the range's width (a new record by 10 % of the usual span is 0.1).
The surprise is ``u = max(exceedance) / margin`` and the score is ``u / (1 + u)``, so an
exceedance of ``margin`` scores exactly 0.5, the alert threshold. The mean and spread
views have a narrow natural range, so their width is taken as at least ``range_floor``
times the level view's width. A view whose history is flat (width 0) and then moves is
infinitely novel (score 1).

After a score reaches 0.5 (an *alert start*) the scores of the next ``refractory`` samples
are scaled by 0.45, which keeps them below 0.5: one incident gives one alert start, and
the detector keeps learning meanwhile. Nothing is scored until each view has ``warmup``
values of history. The timestamps are not used.

Everything is order statistics, sums in a fixed order and elementwise arithmetic, so the
streaming and the vectorised path give bit-identical scores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from functools import reduce
from operator import add
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from pydantic import Field, model_validator
from scipy.ndimage import maximum_filter1d, minimum_filter1d

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

MAX_ABS_VALUE = 1e300  # larger magnitudes are treated as gaps, so no sum can overflow
REFRACTORY_FACTOR = 0.45  # keeps every score inside a refractory period below 0.5
IntArray = NDArray[np.int64]
VIEWS = ("level", "mean", "spread")


class NoveltyParams(StrictModel):
    history: int = Field(
        default=1000, ge=10, le=1_000_000, description="view values remembered (the normal range)"
    )
    window: int = Field(
        default=48, ge=2, le=10_000, description="samples in the mean and spread views"
    )
    level_window: int = Field(
        default=3, ge=1, le=10_000, description="samples in the median level view"
    )
    margin: float = Field(
        default=0.1,
        gt=0.0,
        le=100.0,
        description="exceedance, as a fraction of the range, scoring 0.5",
    )
    refractory: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        description="samples after an alert start whose scores stay below 0.5",
    )
    range_floor: float = Field(
        default=0.5,
        ge=0.0,
        le=10.0,
        description="the mean and spread views' range is taken as at least this fraction "
        "of the level view's range",
    )
    warmup: int = Field(
        default=200, ge=1, le=1_000_000, description="view values needed before scoring"
    )

    @model_validator(mode="after")
    def _warmup_fits(self) -> NoveltyParams:
        if self.warmup > self.history:
            raise ValueError(
                f"warmup ({self.warmup}) cannot exceed history ({self.history}): "
                "the detector never holds more than history values"
            )
        return self


def _exceedance(f: float, mx: float, mn: float, floor: float) -> float:
    spread = mx - mn
    width = spread if spread >= floor else floor
    if width > 0.0:
        above = f - mx
        below = mn - f
        return (above if above >= below else below) / width
    return float("inf") if f != mx else 0.0


def _exceedances(f: FloatArray, mx: FloatArray, mn: FloatArray, floor: FloatArray) -> FloatArray:
    """The array form of :func:`_exceedance`, element for element identical."""
    width = np.maximum(mx - mn, floor)
    out = np.where(f != mx, np.inf, 0.0)
    ok = width > 0.0
    out[ok] = np.maximum(f[ok] - mx[ok], mn[ok] - f[ok]) / width[ok]
    return out


def _trailing_bounds(hist: FloatArray, new: FloatArray, size: int) -> tuple[FloatArray, FloatArray]:
    """Max and min of the ``size`` values before each of ``new``, ``hist`` preceding them.

    Where fewer values precede, the window is partial; with none it is (-inf, inf).
    """
    seq = np.concatenate((hist, new))
    origin = (size - 1) // 2
    mx = maximum_filter1d(seq, size=size, mode="constant", cval=-np.inf, origin=origin)
    mn = minimum_filter1d(seq, size=size, mode="constant", cval=np.inf, origin=origin)
    prev = np.arange(len(hist), len(seq)) - 1  # window ending just before each new value
    has = prev >= 0
    safe = np.maximum(prev, 0)
    return np.where(has, mx[safe], -np.inf), np.where(has, mn[safe], np.inf)


class _Extremes:
    """Max and min of the last ``size`` values pushed (monotonic deques, O(1) amortised)."""

    __slots__ = ("_count", "_max", "_min", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._count = 0
        self._max: deque[tuple[int, float]] = deque()
        self._min: deque[tuple[int, float]] = deque()

    @property
    def count(self) -> int:
        return min(self._count, self._size)

    def bounds(self) -> tuple[float, float]:
        return self._max[0][1], self._min[0][1]

    def push(self, value: float) -> None:
        seq = self._count
        self._count += 1
        while self._max and self._max[-1][1] <= value:
            self._max.pop()
        self._max.append((seq, value))
        while self._min and self._min[-1][1] >= value:
            self._min.pop()
        self._min.append((seq, value))
        oldest = self._count - self._size
        while self._max[0][0] < oldest:
            self._max.popleft()
        while self._min[0][0] < oldest:
            self._min.popleft()


class NoveltyDetector:
    """See the module docstring. Build with :class:`NoveltyParams` or keyword arguments."""

    name: ClassVar[str] = "novelty"
    params_model: ClassVar[type[StrictModel]] = NoveltyParams

    def __init__(self, params: NoveltyParams | None = None, **overrides: Any) -> None:
        if overrides:
            merged = (params or NoveltyParams()).model_dump() | overrides
            params = NoveltyParams.model_validate(merged)
        self._p = params or NoveltyParams()
        self._span = max(self._p.window, self._p.level_window)
        self._reset()

    def _reset(self) -> None:
        self._n = 0  # finite samples seen
        self._last_fire: int | None = None  # sample number of the last alert start
        self._raw: deque[float] = deque(maxlen=self._span)
        self._hist: dict[str, deque[float]] = {v: deque(maxlen=self._p.history) for v in VIEWS}
        self._ext: tuple[_Extremes, _Extremes, _Extremes] | None = None
        self._ext_fresh = False

    @property
    def params(self) -> Mapping[str, Any]:
        return self._p.model_dump()

    # ----------------------------------------------------------------- streaming path
    def _extremes(self) -> tuple[_Extremes, _Extremes, _Extremes]:
        """The monotonic deques of the three views, rebuilt from the histories if stale."""
        if not self._ext_fresh or self._ext is None:
            built = []
            for v in VIEWS:
                ext = _Extremes(self._p.history)
                for value in self._hist[v]:
                    ext.push(value)
                built.append(ext)
            self._ext = (built[0], built[1], built[2])
            self._ext_fresh = True
            return self._ext
        return self._ext

    def update(self, timestamp: float, value: float) -> float:
        x = float(value)
        if not abs(x) <= MAX_ABS_VALUE:  # NaN, inf and absurd magnitudes are gaps
            return 0.0
        p = self._p
        raw = self._raw
        raw.append(x)
        self._n += 1
        if self._n < self._span:
            return 0.0
        buffered = list(raw)
        recent = buffered[-p.window :] if p.window < self._span else buffered
        mean = reduce(add, recent) / p.window  # summed left to right, as the column sums
        spread = max(recent) - min(recent)
        ordered = sorted(buffered[-p.level_window :])
        mid = p.level_window // 2
        level = ordered[mid] if p.level_window % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
        ext_level, ext_mean, ext_spread = self._extremes()
        warm = ext_level.count >= p.warmup
        best = -float("inf")
        if warm:
            mx, mn = ext_level.bounds()
            best = _exceedance(level, mx, mn, 0.0)
            floor = p.range_floor * (mx - mn)
            mx, mn = ext_mean.bounds()
            e = _exceedance(mean, mx, mn, floor)
            best = e if e > best else best
            mx, mn = ext_spread.bounds()
            e = _exceedance(spread, mx, mn, floor)
            best = e if e > best else best
        ext_level.push(level)
        ext_mean.push(mean)
        ext_spread.push(spread)
        hist = self._hist
        hist["level"].append(level)
        hist["mean"].append(mean)
        hist["spread"].append(spread)
        if not warm:
            return 0.0
        score = ratio_score(best / p.margin)
        suppressed = self._last_fire is not None and self._n - self._last_fire <= p.refractory
        if suppressed:
            return score * REFRACTORY_FACTOR
        if score >= 0.5:
            self._last_fire = self._n
        return score

    # ----------------------------------------------------------------- vectorised path
    def score_batch(self, timestamps: ArrayLike, values: ArrayLike) -> FloatArray:
        _, v = as_series(timestamps, values)
        out = np.zeros(len(v))
        with np.errstate(invalid="ignore"):
            ok = np.abs(v) <= MAX_ABS_VALUE
        xs = v[ok]
        if xs.size:
            with np.errstate(invalid="ignore", over="ignore"):
                out[ok] = self._score_finite(xs)
        return out

    def _score_finite(self, xs: FloatArray) -> FloatArray:
        p = self._p
        m = len(xs)
        buf = np.fromiter(self._raw, dtype=np.float64, count=len(self._raw))
        ext = np.concatenate((buf, xs))
        n_before = self._n
        numbers = n_before + 1 + np.arange(m)  # sample number of each new sample
        first = int(np.searchsorted(numbers, self._span))  # first new sample with views
        scores = np.zeros(m)
        if first < m:
            pos = len(buf) + np.arange(first, m)  # positions in ext of samples with views
            views = self._views(ext, pos)
            warm_before = min(max(n_before - self._span + 1, 0), p.history)
            bounds: dict[str, tuple[FloatArray, FloatArray]] = {}
            for name in VIEWS:
                hist = np.fromiter(self._hist[name], dtype=np.float64, count=len(self._hist[name]))
                bounds[name] = _trailing_bounds(hist, views[name], p.history)
                self._hist[name].extend(views[name].tolist())
            level_mx, level_mn = bounds["level"]
            floor = p.range_floor * (level_mx - level_mn)
            best = np.full(m - first, -np.inf)
            for name in VIEWS:
                mx, mn = bounds[name]
                width_floor = np.zeros(m - first) if name == "level" else floor
                best = np.maximum(best, _exceedances(views[name], mx, mn, width_floor))
            counts = np.minimum(warm_before + np.arange(m - first), p.history)
            warm = counts >= p.warmup
            u = best / p.margin
            scores[first:] = np.where(warm, ratio_scores(np.where(warm, u, 0.0)), 0.0)
        self._apply_refractory(scores, numbers)
        self._n = n_before + m
        self._raw.extend(xs[-self._span :].tolist())
        self._ext_fresh = False
        return scores

    def _views(self, ext: FloatArray, pos: IntArray) -> dict[str, FloatArray]:
        p = self._p
        w = sliding_window_view(ext, p.window)[pos - p.window + 1]
        total = w[:, 0].copy()
        for column in range(1, p.window):
            total += w[:, column]
        spread = w.max(axis=1) - w.min(axis=1)
        lw = np.sort(sliding_window_view(ext, p.level_window)[pos - p.level_window + 1], axis=1)
        mid = p.level_window // 2
        level = lw[:, mid] if p.level_window % 2 else (lw[:, mid - 1] + lw[:, mid]) / 2.0
        return {"level": level, "mean": total / p.window, "spread": spread}

    def _apply_refractory(self, scores: FloatArray, numbers: IntArray) -> None:
        """Decide the alert starts in order and scale down scores inside refractory periods."""
        gap = self._p.refractory
        seed = self._last_fire
        last = seed
        fires: list[int] = []
        for i in np.flatnonzero(scores >= 0.5).tolist():
            n = int(numbers[i])
            if last is not None and n - last <= gap:
                continue
            fires.append(n)
            last = n
        self._last_fire = last
        marks = np.asarray(([] if seed is None else [seed]) + fires, dtype=np.int64)
        if marks.size == 0:
            return
        k = np.searchsorted(marks, numbers, side="left") - 1  # last alert start before each
        since = numbers - marks[np.maximum(k, 0)]
        scores[(k >= 0) & (since <= gap)] *= REFRACTORY_FACTOR

    # ----------------------------------------------------------------- state
    def state(self) -> JSONState:
        data: JSONState = {
            "n": self._n,
            "last_fire": self._last_fire,
            "raw": pack_array(list(self._raw)),
        }
        for name in VIEWS:
            data[name] = pack_array(list(self._hist[name]))
        return state_header(self.name, self.params, data)

    def restore(self, state: Mapping[str, Any]) -> None:
        data = check_state_header(state, self.name, self.params)
        n = data.get("n")
        last_fire = data.get("last_fire")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise DetectorStateError("state data 'n' must be a non-negative integer")
        if last_fire is not None and (
            not isinstance(last_fire, int) or isinstance(last_fire, bool) or not 0 < last_fire <= n
        ):
            raise DetectorStateError("state data 'last_fire' must be null or a sample number <= n")
        raw = unpack_array(data.get("raw"), "state data 'raw'")
        views = {name: unpack_array(data.get(name), f"state data {name!r}") for name in VIEWS}
        if len(raw) != min(n, self._span):
            raise DetectorStateError(
                f"state data 'raw' holds {len(raw)} values; {min(n, self._span)} expected"
            )
        expected = min(max(n - self._span + 1, 0), self._p.history)
        for name, arr in views.items():
            if len(arr) != expected:
                raise DetectorStateError(
                    f"state data {name!r} holds {len(arr)} values; {expected} expected"
                )
        self._reset()
        self._n = n
        self._last_fire = last_fire
        self._raw.extend(raw.tolist())
        for name, arr in views.items():
            self._hist[name].extend(arr.tolist())
