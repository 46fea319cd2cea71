"""The NAB scorer against the rules and validation checks of the NAB README, on small
hand-made files whose scores can be worked out by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from watchkeeper.anomaly.nab.scoring import (
    MAX_TP,
    PROFILES,
    FileLayout,
    Profile,
    ProfileName,
    Window,
    best_threshold,
    layout,
    normalise,
    null_score,
    perfect_score,
    probation_rows,
    scaled_sigmoid,
    score_file,
    sweep,
    sweep_rows,
)

STANDARD = PROFILES[ProfileName.STANDARD]
UNIT = Profile("unit", tp=1.0, fp=1.0, fn=1.0)


def detections(n: int, rows: list[int]) -> np.ndarray:
    scores = np.zeros(n)
    scores[rows] = 1.0
    return scores


def test_sigmoid_constants_match_the_readme() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.986614298151430, abs=1e-15)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.848283639957513, abs=1e-15)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(0.5) == pytest.approx(-0.848283639957513, abs=1e-15)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.986614298151430, abs=1e-15)
    assert scaled_sigmoid(3.0) == pytest.approx(-0.99999939, abs=1e-8)
    assert scaled_sigmoid(3.0001) == -1.0
    assert scaled_sigmoid(-1.0) == MAX_TP


def test_profiles_carry_the_readme_weights() -> None:
    weights = {name: (p.tp, p.fp, p.fn) for name, p in PROFILES.items()}
    assert weights == {
        ProfileName.STANDARD: (1.0, 0.11, 1.0),
        ProfileName.REWARD_LOW_FP: (1.0, 0.22, 1.0),
        ProfileName.REWARD_LOW_FN: (1.0, 0.11, 2.0),
    }


@pytest.mark.parametrize(
    ("rows", "percent", "expected"),
    [
        (100, 0.15, 15),
        (4032, 0.15, 604),
        (1127, 0.15, 169),
        (5000, 0.15, 750),
        (22695, 0.15, 750),
        (5000, 0.10, 500),
        (6000, 0.10, 500),
        (0, 0.15, 0),
    ],
)
def test_probation_is_fifteen_percent_capped_at_p_times_5000(
    rows: int, percent: float, expected: int
) -> None:
    assert probation_rows(rows, percent) == expected


def test_a_false_positive_in_a_file_without_windows_costs_exactly_a_fp() -> None:
    file = layout(200, [])
    for profile in PROFILES.values():
        assert score_file(detections(200, [150]), file, profile, 0.5).score == -profile.fp


@pytest.mark.parametrize("width", [1, 2, 7, 100])
def test_a_detection_on_a_window_first_row_is_worth_exactly_a_tp(width: int) -> None:
    file = layout(1000, [Window(500, 500 + width - 1)])
    result = score_file(detections(1000, [500]), file, STANDARD, 0.5)
    assert result.score == pytest.approx(STANDARD.tp, abs=1e-12)
    assert (result.windows_hit, result.windows_missed) == (1, 0)


def test_last_row_tp_and_next_row_fp_sum_to_about_minus_one_with_unit_weights() -> None:
    # Scored separately: the TP on the last row is worth about +0.025; the FP on the next
    # row costs about -0.025 plus the missed window's -1. The sigmoid crosses zero between.
    file = layout(1000, [Window(500, 599)])
    tp_last = score_file(detections(1000, [599]), file, UNIT, 0.5).score
    fp_next = score_file(detections(1000, [600]), file, UNIT, 0.5).score
    assert tp_last > 0 > fp_next + 1.0
    assert tp_last + fp_next + 1.0 == pytest.approx(0.0, abs=1e-3)


def test_a_second_detection_in_the_same_window_changes_nothing() -> None:
    file = layout(1000, [Window(500, 599)])
    once = score_file(detections(1000, [520]), file, STANDARD, 0.5).score
    twice = score_file(detections(1000, [520, 560]), file, STANDARD, 0.5).score
    assert once == twice


def test_a_false_positive_right_after_a_window_costs_less_than_two_rows_later() -> None:
    file = layout(1000, [Window(500, 599)])
    right_after = score_file(detections(1000, [600]), file, STANDARD, 0.5).score
    later = score_file(detections(1000, [602]), file, STANDARD, 0.5).score
    assert right_after > later
    # Both also pay for the missed window.
    assert -STANDARD.fn - STANDARD.fp < later < right_after < -STANDARD.fn


def test_false_positives_before_the_first_window_cost_full_weight() -> None:
    file = layout(1000, [Window(800, 899)])
    assert score_file(detections(1000, [400]), file, STANDARD, 0.5).score == pytest.approx(
        -STANDARD.fp - STANDARD.fn
    )


def test_the_post_window_discount_fades_to_full_cost_beyond_three_window_lengths() -> None:
    file = layout(2000, [Window(500, 599)])
    far = 599 + 3 * 99 + 1
    assert score_file(detections(2000, [far]), file, STANDARD, 0.5).score == pytest.approx(
        -STANDARD.fp - STANDARD.fn
    )


def test_every_detection_row_outside_windows_is_a_separate_false_positive() -> None:
    file = layout(1000, [])
    result = score_file(detections(1000, list(range(300, 312))), file, STANDARD, 0.5)
    assert result.score == pytest.approx(-12 * STANDARD.fp)
    assert (result.fp_rows, result.fp_events) == (12, 1)


def test_detection_uses_greater_or_equal_and_ignores_probation_rows() -> None:
    file = layout(1000, [Window(500, 599)])  # probation 150 rows
    scores = np.zeros(1000)
    scores[10] = 1.0  # inside probation: never counts
    scores[500] = 0.5  # exactly at the threshold: counts
    result = score_file(scores, file, STANDARD, 0.5)
    assert result.score == pytest.approx(1.0)
    assert result.fp_rows == 0


def test_a_window_inside_probation_is_not_counted() -> None:
    file = layout(1000, [Window(10, 20), Window(500, 599)])
    assert file.counted == (False, True)
    assert score_file(np.zeros(1000), file, STANDARD, 0.5).score == -STANDARD.fn


def test_window_weights_fall_monotonically_and_stay_positive() -> None:
    file = layout(1000, [Window(400, 499)])
    inside = file.weights(STANDARD)[400:500]
    assert inside[0] == pytest.approx(1.0)
    assert np.all(np.diff(inside) < 0)
    assert inside[-1] == pytest.approx(scaled_sigmoid(-1 / 100) / MAX_TP)
    assert inside[-1] > 0


def test_sweep_reproduces_the_readme_unit_case() -> None:
    # Rows (score, window, weight); the probationary rows are not part of the pool.
    scores = np.array([0.0, 0.2, 0.3, 0.5, 0.5])
    windows = np.array([-1, 0, 0, 1, -1])
    weights = np.array([-3.0, 20.0, 10.0, 5.0, -3.0])
    points = sweep_rows(scores, windows, weights, counted_windows=2, fn_weight=5.0)
    assert [(p.threshold, p.score) for p in points] == [
        (1.1, -10.0),
        (0.5, -3.0),
        (0.3, 12.0),
        (0.2, 22.0),
        (0.0, 19.0),
    ]
    assert [(p.tp, p.tn, p.fp, p.fn) for p in points] == [
        (0, 2, 0, 3),
        (1, 1, 1, 2),
        (2, 1, 1, 1),
        (3, 1, 1, 0),
        (3, 0, 2, 0),
    ]
    assert best_threshold(points).threshold == 0.2


def test_ties_in_the_sweep_go_to_the_highest_threshold() -> None:
    file = layout(1000, [Window(500, 599)])
    scores = np.zeros(1000)
    scores[500] = 0.9
    scores[550] = 0.8  # a later detection in the same window adds nothing
    best = best_threshold(sweep([scores], [file], STANDARD))
    assert best.threshold == 0.9


def test_the_sweep_agrees_with_scoring_at_each_candidate() -> None:
    rng = np.random.default_rng(7)
    files = [layout(600, [Window(200, 259), Window(400, 449)]), layout(400, [])]
    scores = [np.round(rng.random(f.n_rows), 2) for f in files]
    for profile in PROFILES.values():
        for point in sweep(scores, files, profile):
            direct = sum(
                score_file(s, f, profile, point.threshold).score
                for s, f in zip(scores, files, strict=True)
            )
            assert point.score == pytest.approx(direct, abs=1e-9)


def test_null_and_perfect_detectors_normalise_to_zero_and_one_hundred() -> None:
    files = [layout(1000, [Window(300, 349), Window(700, 749)]), layout(800, [])]
    for profile in PROFILES.values():
        null = sum(score_file(np.zeros(f.n_rows), f, profile, 0.5).score for f in files)
        perfect = sum(
            score_file(detections(f.n_rows, [w.start for w in f.windows]), f, profile, 0.5).score
            for f in files
        )
        assert null == null_score(files, profile)
        assert perfect == pytest.approx(perfect_score(files, profile))
        assert normalise(null, files, profile) == 0.0
        assert normalise(perfect, files, profile) == pytest.approx(100.0)


def test_an_optimised_score_never_falls_below_the_null_detector() -> None:
    files = [layout(1000, [Window(300, 349)])]
    always = [np.ones(1000)]
    for profile in PROFILES.values():
        best = best_threshold(sweep(always, files, profile))
        assert best.threshold == 1.1
        assert normalise(best.score, files, profile) == 0.0


def test_permuting_files_never_changes_the_score() -> None:
    rng = np.random.default_rng(3)
    files = [layout(500 + 100 * i, [Window(300, 329)]) for i in range(3)]
    scores = [rng.random(f.n_rows) for f in files]
    results = set()
    for order in itertools.permutations(range(3)):
        pts = sweep([scores[i] for i in order], [files[i] for i in order], STANDARD)
        results.add(round(best_threshold(pts).score, 9))
    assert len(results) == 1


def test_windows_must_be_sorted_disjoint_and_inside_the_file() -> None:
    with pytest.raises(ValueError, match="overlap"):
        layout(100, [Window(10, 20), Window(15, 30)])
    with pytest.raises(ValueError, match="past the last row"):
        layout(100, [Window(90, 100)])
    with pytest.raises(ValueError, match="end before they start"):
        layout(100, [Window(30, 20)])


def test_each_window_contributes_between_minus_fn_and_tp() -> None:
    file: FileLayout = layout(3000, [Window(1000, 1199), Window(2000, 2099)])
    rng = np.random.default_rng(11)
    for _ in range(20):
        scores = (rng.random(3000) > 0.995).astype(float)
        scores[file.window_id < 0] = 0.0  # only in-window detections
        score = score_file(scores, file, STANDARD, 0.5).score
        assert -2 * STANDARD.fn <= score <= 2 * STANDARD.tp
