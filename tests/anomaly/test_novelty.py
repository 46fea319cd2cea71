"""What the novelty detector does on small series whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from watchkeeper.anomaly.base import ratio_score
from watchkeeper.anomaly.novelty import NoveltyDetector, NoveltyParams

from .conftest import noisy_series


def run(values: np.ndarray, **params: float) -> np.ndarray:
    t = 1_700_000_000.0 + 60.0 * np.arange(len(values))
    return NoveltyDetector(**params).score_batch(t, values)


def alert_starts(scores: np.ndarray) -> list[int]:
    return np.flatnonzero(scores >= 0.5).tolist()


def test_an_exceedance_of_one_margin_scores_exactly_one_half() -> None:
    assert ratio_score(1.0) == 0.5
    assert ratio_score(0.0) == 0.0
    assert ratio_score(float("inf")) == 1.0
    assert ratio_score(3.0) == 0.75


def test_a_spike_in_a_noisy_wave_raises_one_alert_at_the_spike() -> None:
    values = noisy_series(3000, seed=4)
    values[2000] += 25.0
    scores = run(values)
    assert alert_starts(scores[1000:]) == [1000]


@pytest.mark.parametrize("seed", range(5))
def test_bounded_noise_on_a_wave_raises_no_alert_after_the_first_cycle(seed: int) -> None:
    scores = run(noisy_series(6000, seed=seed))
    assert alert_starts(scores[400:]) == []


def test_gaussian_noise_raises_rare_false_alerts_from_its_unbounded_tails() -> None:
    # Measured, not wished away: new records of a Gaussian's range keep coming.
    values = noisy_series(40_000, seed=1, gaussian=True)
    starts = alert_starts(run(values)[400:])
    assert 0 < len(starts) < 40_000 / 1000


def test_a_lasting_level_shift_raises_one_alert_not_one_per_sample() -> None:
    values = noisy_series(3000, seed=2)
    values[2000:] += 15.0
    starts = alert_starts(run(values))
    assert starts[0] in range(2000, 2003)
    assert [s for s in starts if s > 2000 + 100] == []  # the refractory period holds


def test_scores_inside_the_refractory_period_stay_below_one_half() -> None:
    values = noisy_series(3000, seed=8)
    values[2000] += 30.0
    values[2050] += 60.0  # a bigger spike 50 samples later, inside the refractory period
    values[2400] += 90.0  # and one after it has ended
    scores = run(values, refractory=100)
    assert alert_starts(scores[1500:]) == [500, 900]
    assert 0.3 < scores[2050] < 0.5


def test_a_flat_series_that_moves_is_infinitely_novel() -> None:
    values = np.full(400, 7.0)
    values[300] = 7.5
    scores = run(values)
    assert scores[:300].max() == 0.0
    assert scores[300] == 1.0


def test_nothing_is_scored_before_the_views_and_the_warm_up_are_filled() -> None:
    values = np.arange(200.0)  # every value a new record
    scores = run(values, window=10, level_window=3, warmup=20)
    # Views exist from the 10th sample; 20 view values of history are needed before scoring.
    assert scores[:29].max() == 0.0
    assert scores[29] > 0.0


def test_gaps_are_skipped_without_touching_what_was_learnt() -> None:
    values = noisy_series(1500, seed=6)
    values[1200] += 20.0
    with_gaps = values.copy()
    holes = [100, 101, 700, 1199]
    with_gaps = np.insert(with_gaps, holes, np.nan)
    plain = run(values)
    gapped = run(with_gaps)
    assert np.array_equal(gapped[np.isfinite(with_gaps)], plain)
    assert np.all(gapped[~np.isfinite(with_gaps)] == 0.0)


def test_a_bigger_margin_needs_a_bigger_surprise() -> None:
    values = noisy_series(2500, seed=3)
    values[2000] += 8.0
    assert run(values, margin=0.05)[2000] > run(values, margin=0.3)[2000]


def test_params_are_validated_with_reasons() -> None:
    with pytest.raises(ValidationError, match="warmup"):
        NoveltyParams(history=50, warmup=60)
    with pytest.raises(ValidationError, match="margin"):
        NoveltyDetector(margin=0)
    assert NoveltyDetector(margin=0.2).params["margin"] == 0.2
