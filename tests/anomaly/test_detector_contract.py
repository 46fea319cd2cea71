"""One contract every registered detector passes: scores in [0, 1], causal, the streaming
and the vectorised path bit-identical, state surviving a JSON round trip mid-stream, and
clear errors for bad params and foreign states."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.anomaly.base import Detector, DetectorStateError
from watchkeeper.anomaly.registry import (
    DETECTORS,
    create_detector,
    detector_from_state,
    validate_params,
)
from watchkeeper.core.errors import ConfigError

# Small settings so short generated series cross warm-up, refractory and history limits.
SMALL: dict[str, dict[str, Any]] = {
    "novelty": {"history": 40, "window": 6, "level_window": 3, "warmup": 5, "refractory": 7},
    "windowed_gaussian": {"window": 8},
}
KINDS = sorted(DETECTORS)


def test_every_registered_detector_has_small_test_settings() -> None:
    assert sorted(SMALL) == KINDS


def build(kind: str, small: bool = True) -> Detector:
    return create_detector(kind, SMALL[kind] if small else None)


@st.composite
def series(draw: st.DrawFn, max_size: int = 300) -> np.ndarray:
    """Random walks with spikes, flat stretches, gaps and extreme magnitudes."""
    n = draw(st.integers(0, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = 10.0 ** draw(st.integers(-3, 6))
    values = np.cumsum(rng.normal(0, scale, n)) + rng.normal(0, scale / 4, n)
    if n and draw(st.booleans()):
        values[rng.integers(0, n, size=max(1, n // 40))] *= 25.0  # spikes
    if n > 20 and draw(st.booleans()):
        start = int(rng.integers(0, n - 10))
        values[start : start + int(rng.integers(5, 40))] = values[start]  # flat stretch
    if n and draw(st.booleans()):
        special = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e301, -0.0, 0.0]))
        values[rng.integers(0, n, size=max(1, n // 30))] = special
    return values


def timestamps(n: int) -> np.ndarray:
    return 1_700_000_000.0 + 300.0 * np.arange(n)


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(values=series())
def test_scores_are_in_unit_interval_one_per_sample(kind: str, values: np.ndarray) -> None:
    scores = build(kind).score_batch(timestamps(len(values)), values)
    assert scores.shape == values.shape
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    assert np.all(scores[~np.isfinite(values)] == 0.0)


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(values=series())
def test_streaming_and_vectorised_paths_are_bit_identical(kind: str, values: np.ndarray) -> None:
    t = timestamps(len(values))
    batch = build(kind).score_batch(t, values)
    one_by_one = build(kind)
    streamed = np.array([one_by_one.update(a, b) for a, b in zip(t, values, strict=True)])
    assert np.array_equal(batch, streamed.reshape(batch.shape))


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(values=series(), cuts=st.lists(st.integers(0, 300), max_size=6))
def test_scores_do_not_depend_on_how_the_series_is_chunked(
    kind: str, values: np.ndarray, cuts: list[int]
) -> None:
    t = timestamps(len(values))
    whole = build(kind).score_batch(t, values)
    detector = build(kind)
    bounds = [0, *sorted(c for c in cuts if c <= len(values)), len(values)]
    parts = [detector.score_batch(t[a:b], values[a:b]) for a, b in itertools.pairwise(bounds)]
    assert np.array_equal(whole, np.concatenate(parts))


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(values=series(), extra=series(max_size=100))
def test_a_score_never_changes_when_later_samples_arrive(
    kind: str, values: np.ndarray, extra: np.ndarray
) -> None:
    longer = np.concatenate((values, extra))
    prefix = build(kind).score_batch(timestamps(len(values)), values)
    full = build(kind).score_batch(timestamps(len(longer)), longer)
    assert np.array_equal(prefix, full[: len(values)])


@pytest.mark.parametrize("kind", KINDS)
@FAST
@given(values=series(), split=st.integers(0, 300))
def test_state_survives_a_json_round_trip_mid_stream(
    kind: str, values: np.ndarray, split: int
) -> None:
    split = min(split, len(values))
    t = timestamps(len(values))
    whole = build(kind)
    uninterrupted = whole.score_batch(t, values)
    before = build(kind)
    head = before.score_batch(t[:split], values[:split])
    saved = json.loads(json.dumps(before.state()))
    after = detector_from_state(saved)
    tail = np.array([after.update(a, b) for a, b in zip(t[split:], values[split:], strict=True)])
    assert np.array_equal(uninterrupted, np.concatenate((head, tail)))
    assert after.state() == whole.state()


@pytest.mark.parametrize("kind", KINDS)
def test_default_settings_keep_the_paths_identical_on_a_long_series(kind: str) -> None:
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.normal(0, 1, 4000))
    values[[1500, 2600, 3100]] += [40.0, -35.0, 60.0]
    values[3300:3500] += 12.0
    t = timestamps(len(values))
    batch = build(kind, small=False).score_batch(t, values)
    live = build(kind, small=False)
    streamed = np.array([live.update(a, b) for a, b in zip(t, values, strict=True)])
    assert np.array_equal(batch, streamed)
    assert batch.max() >= 0.5


@pytest.mark.parametrize("kind", KINDS)
def test_a_detector_rejects_another_detectors_state(kind: str) -> None:
    other = next(k for k in KINDS if k != kind)
    with pytest.raises(DetectorStateError, match="belongs to detector"):
        build(kind).restore(build(other).state())


@pytest.mark.parametrize("kind", KINDS)
def test_a_detector_rejects_a_state_saved_with_other_params(kind: str) -> None:
    with pytest.raises(DetectorStateError, match="saved with params"):
        build(kind, small=False).restore(build(kind).state())


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_state_is_refused_with_a_reason(kind: str) -> None:
    detector = build(kind)
    detector.score_batch(timestamps(50), np.arange(50.0))
    state = json.loads(json.dumps(detector.state()))
    key = next(k for k, v in state["data"].items() if isinstance(v, dict))
    state["data"][key]["f8"] = "not base64!"
    with pytest.raises(DetectorStateError, match=key):
        build(kind).restore(state)
    state["version"] = 99
    with pytest.raises(DetectorStateError, match="version"):
        build(kind).restore(state)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_params_are_config_errors_naming_the_field(kind: str) -> None:
    field = next(iter(DETECTORS[kind].params_model.model_fields))
    with pytest.raises(ConfigError, match=rf"params\.{field}"):
        validate_params(kind, {field: -5})
    with pytest.raises(ConfigError, match=r"params\.no_such_param"):
        validate_params(kind, {"no_such_param": 1})


def test_an_unknown_detector_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown detector 'htm'; choose one of: "):
        create_detector("htm")


@pytest.mark.parametrize("kind", KINDS)
def test_timestamps_and_values_of_different_lengths_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="3 timestamps but 2 values"):
        build(kind).score_batch([1.0, 2.0, 3.0], [1.0, 2.0])
