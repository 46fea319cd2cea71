"""Streaming anomaly detection: detectors chosen by measurement on NAB, the NAB scorer that
measures them, and the anomaly rule kind.

    base       the Detector protocol (update / score_batch / state / restore)
    registry   the explicit table of detectors by name (DETECTORS, create_detector)
    novelty    the default detector: multi-view range novelty with a refractory period
    gaussian   the windowed Gaussian baseline
    rule       AnomalyRuleConfig and AnomalyEvaluator (one detector per output series)
    nab/       the NAB corpus loader, scorer and runner
"""

from watchkeeper.anomaly.base import Detector, DetectorStateError
from watchkeeper.anomaly.registry import (
    DEFAULT_DETECTOR,
    DETECTORS,
    create_detector,
    detector_from_state,
)
from watchkeeper.anomaly.rule import AnomalyEvaluator, AnomalyRuleConfig, AnomalyScore

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "AnomalyEvaluator",
    "AnomalyRuleConfig",
    "AnomalyScore",
    "Detector",
    "DetectorStateError",
    "create_detector",
    "detector_from_state",
]
