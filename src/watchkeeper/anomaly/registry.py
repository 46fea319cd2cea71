"""The explicit table of detectors. Adding one = one module + one line in ``DETECTORS``.

Each entry has a name, a one-line summary, a params model (a strict pydantic model whose
defaults are the recommended settings) and a constructor. Bad names and bad params are
:class:`~watchkeeper.core.errors.ConfigError` naming the field and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from watchkeeper.anomaly.base import Detector, DetectorStateError
from watchkeeper.anomaly.gaussian import WindowedGaussianDetector, WindowedGaussianParams
from watchkeeper.anomaly.novelty import NoveltyDetector, NoveltyParams
from watchkeeper.config.base import StrictModel
from watchkeeper.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class DetectorKind:
    name: str
    summary: str
    params_model: type[StrictModel]
    build: Callable[[Any], Detector]


def _novelty(params: NoveltyParams) -> Detector:
    return NoveltyDetector(params)


def _windowed_gaussian(params: WindowedGaussianParams) -> Detector:
    return WindowedGaussianDetector(params)


DEFAULT_DETECTOR = "novelty"

DETECTORS: Mapping[str, DetectorKind] = {
    kind.name: kind
    for kind in (
        DetectorKind(
            "novelty",
            "new records of level, mean and spread beyond their usual range, one alert "
            "per incident (the default; chosen on NAB)",
            NoveltyParams,
            _novelty,
        ),
        DetectorKind(
            "windowed_gaussian",
            "z-score against the mean and deviation of a trailing window (baseline)",
            WindowedGaussianParams,
            _windowed_gaussian,
        ),
    )
}


def detector_names() -> list[str]:
    return list(DETECTORS)


def detector_kind(name: str) -> DetectorKind:
    kind = DETECTORS.get(name)
    if kind is None:
        raise ConfigError(f"unknown detector {name!r}; choose one of: {', '.join(DETECTORS)}")
    return kind


def validate_params(name: str, params: Mapping[str, Any] | None = None) -> StrictModel:
    """The detector's params model built from ``params`` (missing keys take defaults)."""
    kind = detector_kind(name)
    try:
        return kind.params_model.model_validate(dict(params or {}))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "params"
            problems.append(f"detector {name!r}: params.{where}: {err['msg']}")
        raise ConfigError(problems) from None


def create_detector(
    name: str = DEFAULT_DETECTOR, params: Mapping[str, Any] | None = None
) -> Detector:
    """A fresh detector of kind ``name``."""
    return detector_kind(name).build(validate_params(name, params))


def detector_from_state(state: Mapping[str, Any]) -> Detector:
    """Rebuild a detector (kind, params and learnt state) from :meth:`Detector.state`."""
    if not isinstance(state, Mapping) or not isinstance(state.get("detector"), str):
        raise DetectorStateError("a detector state must be an object with a 'detector' name")
    params = state.get("params")
    if not isinstance(params, Mapping):
        raise DetectorStateError("a detector state must carry its 'params' object")
    try:
        detector = create_detector(state["detector"], params)
    except ConfigError as exc:
        raise DetectorStateError(f"cannot rebuild the saved detector: {exc}") from None
    detector.restore(state)
    return detector
