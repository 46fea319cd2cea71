"""The streaming detector contract.

A detector turns one series, sample by sample, into anomaly scores in [0, 1]. Each score
depends only on the samples up to and including its own, so a detector can run live. The
score 0.5 is the default alert threshold: a detector is calibrated so that crossing it is
worth an alert.

Two paths produce scores and must agree exactly:

* :meth:`Detector.update` takes one ``(timestamp, value)`` and returns its score;
* :meth:`Detector.score_batch` takes arrays and returns one score per row, continuing from
  the detector's current state and leaving it as if ``update`` had been called per row.

The state survives restarts: :meth:`Detector.state` returns JSON-able data (floats in
arrays are packed as base64 bytes so they round-trip exactly) and
:meth:`Detector.restore` puts it back. A non-finite value (NaN marks a gap) scores 0 and
leaves the state untouched.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from watchkeeper.core.errors import WatchkeeperError

FloatArray = NDArray[np.float64]
JSONState = dict[str, Any]

STATE_VERSION = 1


class DetectorStateError(WatchkeeperError):
    """A saved detector state that cannot be restored (wrong detector, version or shape)."""


@runtime_checkable
class Detector(Protocol):
    """One series in, one score in [0, 1] per sample out; 0.5 is the alert threshold."""

    name: ClassVar[str]

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters the detector was built with (JSON-able)."""
        ...

    def update(self, timestamp: float, value: float) -> float:
        """Score one sample, using only it and the samples before it."""
        ...

    def score_batch(self, timestamps: ArrayLike, values: ArrayLike) -> FloatArray:
        """Score many samples in order; identical to calling :meth:`update` per row."""
        ...

    def state(self) -> JSONState:
        """Everything needed to continue after a restart, as JSON-able data."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state` of a detector with the same name and params."""
        ...


def as_series(timestamps: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both arrays as 1-D float64 of equal length, or ``ValueError`` saying what is wrong."""
    t = np.asarray(timestamps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.ndim != 1:
        raise ValueError("timestamps and values must be one-dimensional")
    if t.shape != v.shape:
        raise ValueError(f"{len(t)} timestamps but {len(v)} values; give one of each per sample")
    return t, v


def pack_array(values: ArrayLike) -> dict[str, Any]:
    """A float64 array as JSON-able data that restores bit for bit (NaN and inf included)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype="<f8"))
    return {"f8": base64.b64encode(arr.tobytes()).decode("ascii"), "n": len(arr)}


def unpack_array(data: Any, where: str) -> FloatArray:
    if not isinstance(data, Mapping) or not isinstance(data.get("f8"), str):
        raise DetectorStateError(f"{where}: expected a packed array {{'f8': ..., 'n': ...}}")
    try:
        raw = base64.b64decode(data["f8"], validate=True)
    except ValueError:
        raise DetectorStateError(f"{where}: the packed array is not valid base64") from None
    if len(raw) % 8 or len(raw) // 8 != data.get("n"):
        raise DetectorStateError(f"{where}: the packed array does not hold {data.get('n')} floats")
    return np.frombuffer(raw, dtype="<f8").astype(np.float64)


def check_state_header(
    state: Mapping[str, Any], name: str, params: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Validate the common part of a saved state and return its ``data`` section."""
    if not isinstance(state, Mapping):
        raise DetectorStateError("a detector state must be a JSON object")
    if state.get("detector") != name:
        raise DetectorStateError(
            f"the state belongs to detector {state.get('detector')!r}, not {name!r}"
        )
    if state.get("version") != STATE_VERSION:
        raise DetectorStateError(
            f"state version {state.get('version')!r} is not supported (expected {STATE_VERSION})"
        )
    if dict(state.get("params") or {}) != dict(params):
        raise DetectorStateError(
            f"the state was saved with params {state.get('params')!r}, not {dict(params)!r}; "
            "build the detector with the saved params (detector_from_state does)"
        )
    data = state.get("data")
    if not isinstance(data, Mapping):
        raise DetectorStateError("the state has no 'data' object")
    return data


def state_header(name: str, params: Mapping[str, Any], data: JSONState) -> JSONState:
    return {"detector": name, "version": STATE_VERSION, "params": dict(params), "data": data}


def ratio_score(u: float) -> float:
    """Map a non-negative surprise ``u`` (1 = worth an alert) to [0, 1): ``u / (1 + u)``."""
    if not u > 0.0:
        return 0.0
    if u == float("inf"):
        return 1.0
    return u / (1.0 + u)


def ratio_scores(u: FloatArray) -> FloatArray:
    """The array form of :func:`ratio_score`, element for element identical."""
    out = np.zeros(len(u))
    pos = u > 0.0
    finite = pos & np.isfinite(u)
    out[finite] = u[finite] / (1.0 + u[finite])
    out[pos & ~np.isfinite(u)] = 1.0
    return out
