"""iCEM: colored noise of the requested spectrum, a shrinking population, the mean scored last, elites
kept across iterations and carried (shifted) into the next plan.

Axis legend: B episodes, N candidates, H horizon (model steps), A action size of one model step.
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import HIGH, HORIZON, LOW, quadratic_cost
from torch import Tensor

from worldplan.planners import ICEM, shift_plan
from worldplan.planners.sampling import colored_noise

H, A = HORIZON, 2
TARGET = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])  # (H, A)


def make_icem(**overrides: object) -> ICEM:
    kwargs = dict(horizon=H, action_low=LOW, action_high=HIGH, num_samples=64, num_elites=8, iterations=4, seed=0)
    kwargs.update(overrides)
    return ICEM(**kwargs)


def recording(cost, calls: list[Tensor]):
    """``cost`` that also appends each call's candidates (B, N, H, A) to ``calls``."""

    def record(actions: Tensor) -> Tensor:
        calls.append(actions.clone())
        return cost(actions)

    return record


def spectrum_slope(noise: Tensor) -> float:
    """Log-log slope of the periodogram of noise (M, T, A) along T, averaged over samples and dimensions."""
    power = torch.fft.rfft(noise.transpose(1, 2)).abs().square().mean(dim=(0, 1))[1:]  # (T // 2,) without f = 0
    log_f = torch.fft.rfftfreq(noise.shape[1])[1:].log()
    log_p = power.log()
    centred = log_f - log_f.mean()
    return float((centred * (log_p - log_p.mean())).sum() / centred.square().sum())


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_colored_noise_has_the_requested_spectrum_exponent_and_unit_variance(beta) -> None:
    generator = torch.Generator().manual_seed(0)
    noise = colored_noise((512, 256, 2), beta, generator, torch.device("cpu"))  # (M, T, A)
    assert abs(spectrum_slope(noise) + beta) < 0.3
    assert torch.allclose(noise.var(dim=(0, 1)), torch.ones(2), atol=0.1)


@pytest.mark.parametrize("beta, smooth", [(0.0, False), (2.0, True)])
def test_icem_samples_are_correlated_in_time_for_positive_beta(beta, smooth) -> None:
    calls: list[Tensor] = []
    planner = ICEM(horizon=64, action_low=[-10.0], action_high=[10.0], num_samples=200, num_elites=10,
                   iterations=1, init_std=0.1, noise_beta=beta)
    planner.plan(recording(lambda a: a.square().sum(dim=(-2, -1)), calls), batch_size=1)
    steps = calls[0][0, :-1, :, 0]  # (N, H) samples around the zero mean, std 1, the mean left out
    lag_one = (steps[:, 1:] * steps[:, :-1]).mean() / steps.square().mean()
    assert (lag_one > 0.8) if smooth else (abs(lag_one) < 0.1)


def test_population_shrinks_by_the_decay_and_the_mean_is_added_last() -> None:
    calls: list[Tensor] = []
    planner = make_icem(num_samples=100, num_elites=10, iterations=5, population_decay=2.0)
    result = planner.plan(recording(quadratic_cost(TARGET), calls), batch_size=2)
    assert [c.shape[1] for c in calls] == [100, 50, 25, 20, 20 + 1]  # max(2K, N / 2^i), then the mean
    assert result.evaluations == planner.evaluations_per_plan == 216


def test_with_one_iteration_the_warm_start_itself_is_scored_last() -> None:
    calls: list[Tensor] = []
    warm = torch.full((2, H, A), 0.25)
    make_icem(iterations=1).plan(recording(quadratic_cost(TARGET), calls), batch_size=2, warm_start=warm)
    assert torch.equal(calls[0][:, -1], warm)


def test_kept_elites_carry_over_shifted_into_the_next_plan() -> None:
    cost = quadratic_cost(TARGET)
    planner = make_icem(keep_elites_fraction=0.5)  # K' = 4 of 8 elites
    first = planner.plan(cost, batch_size=3)
    warm = shift_plan(first.actions[[2, 0]], 2)  # episode 1 finished; the MPC loop executed 2 steps
    calls: list[Tensor] = []
    planner.plan(recording(cost, calls), batch_size=2, warm_start=warm)
    carried = calls[0][:, -4:]  # (B, K', H, A), the last K' samples of the first iteration
    assert torch.equal(carried[:, 0], warm)  # the best kept elite is the plan itself, shifted the same way
    assert calls[0].shape[1] == 64  # carried elites replace samples: the budget does not change


def test_nothing_carries_over_into_a_warm_start_that_does_not_continue_the_last_plan() -> None:
    cost = quadratic_cost(TARGET)
    planner = make_icem(keep_elites_fraction=0.5)
    planner.plan(cost, batch_size=2)
    warm = torch.full((2, H, A), 0.125)
    calls: list[Tensor] = []
    planner.plan(recording(cost, calls), batch_size=2, warm_start=warm)
    assert not (calls[0] == warm[:, None]).flatten(2).all(dim=2).any()


def test_without_kept_elites_the_budget_and_the_search_still_work() -> None:
    planner = make_icem(keep_elites_fraction=0.0, iterations=8)
    result = planner.plan(quadratic_cost(TARGET), batch_size=1)
    assert torch.allclose(result.actions[0], TARGET, atol=0.1)
    assert result.evaluations == planner.evaluations_per_plan


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(noise_beta=-0.5), r"noise_beta must be in \[0, 4\]"),
        (dict(noise_beta=4.5), r"noise_beta must be in \[0, 4\]"),
        (dict(keep_elites_fraction=1.5), r"keep_elites_fraction must be in \[0, 1\]"),
        (dict(population_decay=0.9), "population_decay must be >= 1"),
        (dict(num_elites=40), "num_elites must be <= num_samples // 2 = 32"),
        (dict(min_std=0.0), "min_std must be > 0"),
        (dict(momentum=1.0), r"momentum must be in \[0, 1\)"),
    ],
)
def test_bad_icem_settings_raise_value_error_naming_the_parameter(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_icem(**kwargs)
