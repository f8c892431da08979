"""The paired difference of two models' successes on the same tasks, on hand-made cases with known answers."""

from __future__ import annotations

import math

import pytest

from worldplan.benchmark.paired import mcnemar_exact_p, paired_difference


def test_mcnemar_matches_the_binomial_tail_by_hand() -> None:
    assert mcnemar_exact_p(5, 0) == pytest.approx(2 * 0.5**5)  # 0.0625: five wins of five is not yet p < 0.05
    assert mcnemar_exact_p(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # 0.0386
    assert mcnemar_exact_p(3, 3) == 1.0 and mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(2, 10) == mcnemar_exact_p(10, 2)


def test_identical_outcomes_differ_by_exactly_zero() -> None:
    result = paired_difference([True, False, True, True], [True, False, True, True])
    assert result["difference"] == 0.0 and result["ci95"] == [0.0, 0.0]
    assert (result["only_a"], result["only_b"], result["mcnemar_p"]) == (0, 0, 1.0)


def test_a_always_better_gives_a_degenerate_interval_at_one() -> None:
    result = paired_difference([True] * 8, [False] * 8)
    assert result["difference"] == 1.0 and result["ci95"] == [1.0, 1.0] and result["only_a"] == 8


def test_bootstrap_interval_matches_the_normal_approximation_on_many_pairs() -> None:
    # 400 pairs: 100 where only a succeeds, 40 where only b does, the rest tied. The difference is 0.15;
    # its standard error is sqrt((100 + 40) / 400 - 0.15^2) / sqrt(400) = 0.0286.
    a = [True] * 100 + [False] * 40 + [True] * 60 + [False] * 200
    b = [False] * 100 + [True] * 40 + [True] * 60 + [False] * 200
    result = paired_difference(a, b)
    se = math.sqrt(140 / 400 - 0.15**2) / 20
    assert result["difference"] == pytest.approx(0.15)
    assert result["ci95"][0] == pytest.approx(0.15 - 1.96 * se, abs=0.01)
    assert result["ci95"][1] == pytest.approx(0.15 + 1.96 * se, abs=0.01)
    assert result["mcnemar_p"] < 1e-6


def test_pairing_removes_the_tasks_shared_difficulty() -> None:
    # Both models solve the same easy half; a also solves 6 of the hard half. Unpaired Wilson intervals
    # of 0.5 and 0.8 on 20 tasks overlap; the paired interval excludes 0.
    a = [True] * 10 + [True] * 6 + [False] * 4
    b = [True] * 10 + [False] * 10
    assert paired_difference(a, b)["ci95"][0] > 0


def test_the_same_seed_gives_the_same_interval_and_bad_input_is_refused() -> None:
    a, b = [True, False, True, False, True], [False, False, True, True, False]
    assert paired_difference(a, b, seed=3) == paired_difference(a, b, seed=3)
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([True], [True, False])
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([], [])
