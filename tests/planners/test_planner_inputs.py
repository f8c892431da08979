"""Bad input gives an error that names the problem, never a silent NaN plan."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import Tensor

from worldplan.planners import CEM, MPPI, NonFiniteCostError

H, A = 3, 2  # the fixture's horizon and action size


def test_all_nan_costs_raise_non_finite_cost_error(make_planner) -> None:
    def nan_cost(actions: Tensor) -> Tensor:
        return torch.full(actions.shape[:2], float("nan"))

    with pytest.raises(NonFiniteCostError, match="no finite cost"):
        make_planner().plan(nan_cost, batch_size=2)


def test_one_episode_with_only_inf_costs_raises(make_planner, quadratic) -> None:
    cost = quadratic(torch.zeros(H, A))

    def second_row_inf(actions: Tensor) -> Tensor:
        costs = cost(actions)
        costs[1] = float("inf")
        return costs

    with pytest.raises(NonFiniteCostError, match=r"episodes \[1\]"):
        make_planner().plan(second_row_inf, batch_size=2)


def test_a_few_nan_costs_are_never_chosen_and_are_logged(make_planner, quadratic, caplog) -> None:
    cost = quadratic(torch.zeros(H, A))

    def nan_near_zero(actions: Tensor) -> Tensor:  # NaN exactly where the true optimum lies
        costs = cost(actions)
        return torch.where(costs < 0.05, torch.full_like(costs, float("nan")), costs)

    with caplog.at_level(logging.WARNING, logger="worldplan.planners.sampling"):
        result = make_planner().plan(nan_near_zero, batch_size=1)
    assert torch.isfinite(result.cost_trace).all()
    assert cost(result.actions.unsqueeze(1)).item() >= 0.05
    assert "non-finite costs" in caplog.text


def test_cost_of_wrong_shape_raises_value_error_naming_shapes(make_planner) -> None:
    def flat_cost(actions: Tensor) -> Tensor:  # (B*N,) instead of (B, N)
        return actions.sum(dim=(-2, -1)).flatten()

    with pytest.raises(ValueError, match=r"expected \(B, N\) = \(2, \d+\)"):
        make_planner().plan(flat_cost, batch_size=2)


def test_cost_that_is_not_a_tensor_raises_type_error(make_planner) -> None:
    with pytest.raises(TypeError, match="must return a Tensor"):
        make_planner().plan(lambda actions: actions.shape[0] * [0.0], batch_size=1)


def test_warm_start_of_wrong_shape_raises_value_error(make_planner, quadratic) -> None:
    with pytest.raises(ValueError, match=r"warm_start must have shape \(B, H, A\) = \(2, 3, 2\)"):
        make_planner().plan(quadratic(torch.zeros(H, A)), batch_size=2, warm_start=torch.zeros(2, H + 1, A))


def test_non_finite_warm_start_raises_value_error(make_planner, quadratic) -> None:
    warm = torch.zeros(1, H, A)
    warm[0, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="warm_start contains NaN"):
        make_planner().plan(quadratic(torch.zeros(H, A)), batch_size=1, warm_start=warm)


def test_warm_start_outside_bounds_is_clamped(make_planner, quadratic) -> None:
    cost = quadratic(torch.full((H, A), 5.0))  # optimum beyond the bounds: the clamped warm start is best
    result = make_planner(iterations=1).plan(cost, batch_size=1, warm_start=torch.full((1, H, A), 9.0))
    assert torch.equal(result.actions, torch.ones(1, H, A))


@pytest.mark.parametrize("low, high", [([0.0, 1.0], [1.0, 1.0]), ([0.5, 0.0], [-0.5, 1.0])])
def test_bounds_with_low_not_below_high_raise_value_error(make_planner, low, high) -> None:
    with pytest.raises(ValueError, match="action_low must be < action_high"):
        make_planner(action_low=low, action_high=high)


def test_bounds_of_different_shapes_raise_value_error(make_planner) -> None:
    with pytest.raises(ValueError, match="shape \\(A,\\)"):
        make_planner(action_low=[-1.0, -1.0], action_high=[1.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_samples=1), "num_samples must be >= 2"),
        (dict(horizon=0), "horizon must be >= 1"),
        (dict(iterations=0), "iterations must be >= 1"),
        (dict(min_std=0.0), "min_std must be > 0"),
        (dict(init_std=0.01), "need min_std <= init_std"),
        (dict(num_elites=400), "num_elites must be"),
    ],
)
def test_bad_hyper_parameters_raise_value_error(make_planner, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_planner(**kwargs)


def test_cem_momentum_of_one_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        CEM(horizon=H, action_low=[-1.0], action_high=[1.0], momentum=1.0)


def test_mppi_non_positive_temperature_raises_value_error() -> None:
    with pytest.raises(ValueError, match="temperature must be > 0"):
        MPPI(horizon=H, action_low=[-1.0], action_high=[1.0], temperature=0.0)
