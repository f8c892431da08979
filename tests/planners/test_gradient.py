"""The gradient planner: descends differentiable costs, projects onto the bounds, refuses costs it
cannot descend and never returns a NaN plan.

Axis legend: B episodes, R restarts, H horizon (model steps), A action size of one model step.
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import HIGH, HORIZON, LOW, far_rastrigin, quadratic_cost
from torch import Tensor

from worldplan.planners import GradientPlanner, NonFiniteCostError, NonFiniteGradientError

H, A = HORIZON, 2
TARGET = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])  # (H, A)


def make_gd(**overrides: object) -> GradientPlanner:
    kwargs = dict(horizon=H, action_low=LOW, action_high=HIGH, restarts=1, steps=50, lr=0.1, seed=0)
    kwargs.update(overrides)
    return GradientPlanner(**kwargs)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fifty_steps_reach_a_quadratic_optimum_from_the_midpoint(optimizer) -> None:
    result = make_gd(optimizer=optimizer).plan(quadratic_cost(TARGET), batch_size=1)
    assert torch.allclose(result.actions[0], TARGET, atol=0.05)
    assert result.cost_trace.shape == (1, 50 + 1) and result.cost_trace[0, -1] < 1e-2


def test_bounds_are_respected_for_any_bounds_and_lr_is_in_half_ranges() -> None:
    planner = make_gd(action_low=[0.0, -4.0], action_high=[2.0, 0.0], steps=30)
    actions = planner.plan(quadratic_cost(torch.tensor([1.5, 5.0]).expand(H, A)), batch_size=2).actions
    assert actions[..., 0].min() >= 0.0 and actions[..., 1].max() <= 0.0
    assert torch.allclose(actions, torch.tensor([1.5, 0.0]).expand(2, H, A), atol=0.05)


def test_descent_calls_get_actions_that_require_grad_and_the_last_call_scores_only() -> None:
    flags: list[tuple[tuple[int, ...], bool]] = []
    cost = quadratic_cost(TARGET)

    def recording(actions: Tensor) -> Tensor:
        flags.append((tuple(actions.shape), actions.requires_grad))
        return cost(actions)

    result = make_gd(restarts=3, steps=4).plan(recording, batch_size=2)
    assert flags == [((2, 3, H, A), True)] * 4 + [((2, 3, H, A), False)]
    assert result.evaluations == (2 * 4 + 1) * 3


def test_warm_start_at_the_optimum_is_returned_unchanged() -> None:
    warm = TARGET.expand(2, H, A).clone()
    result = make_gd(restarts=4).plan(quadratic_cost(TARGET), batch_size=2, warm_start=warm)
    assert torch.equal(result.actions, warm) and torch.all(result.cost_trace == 0)


def test_episodes_planned_together_get_the_plans_they_get_alone() -> None:
    targets = torch.stack([TARGET, -TARGET]).unsqueeze(1)  # (B, 1, H, A)
    together = make_gd(steps=20).plan(quadratic_cost(targets), batch_size=2).actions
    alone = [make_gd(steps=20).plan(quadratic_cost(targets[b : b + 1]), batch_size=1).actions[0] for b in (0, 1)]
    assert torch.equal(together, torch.stack(alone))


def test_random_restarts_escape_a_local_minimum_of_the_start() -> None:
    single = make_gd(restarts=1, lr=0.05).plan(far_rastrigin, batch_size=1).cost_trace[0, -1]
    many = make_gd(restarts=16, lr=0.05).plan(far_rastrigin, batch_size=1).cost_trace[0, -1]
    assert many < single


def test_cost_without_grad_fn_raises_value_error_naming_the_fix() -> None:
    def no_grad_cost(actions: Tensor) -> Tensor:
        with torch.no_grad():
            return quadratic_cost(TARGET)(actions)

    with pytest.raises(ValueError, match=r"not differentiable.*make_cost_fn\(\.\.\., differentiable=True\)"):
        make_gd().plan(no_grad_cost, batch_size=1)


def test_cost_that_ignores_the_actions_raises_value_error() -> None:
    weight = torch.ones((), requires_grad=True)  # a model parameter: the cost has a grad_fn, but not via actions
    with pytest.raises(ValueError, match="do not depend on them"):
        make_gd().plan(lambda actions: weight * torch.ones(actions.shape[:2]), batch_size=1)


def test_non_finite_gradient_raises_naming_the_episode() -> None:
    warm = torch.stack([torch.zeros(H, A), torch.full((H, A), 0.5)])  # sqrt has an infinite slope at 0
    with pytest.raises(NonFiniteGradientError, match=r"gradient of cost_fn is NaN or inf for episodes \[0\]"):
        make_gd().plan(lambda actions: actions.abs().sqrt().sum(dim=(-2, -1)), batch_size=2, warm_start=warm)


def test_nan_cost_raises_a_non_finite_cost_error() -> None:
    def nan_cost(actions: Tensor) -> Tensor:
        return actions.sum(dim=(-2, -1)) * float("nan")

    with pytest.raises(NonFiniteCostError, match="NaN or inf costs for episodes"):
        make_gd().plan(nan_cost, batch_size=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=0.0), "lr must be > 0"),
        (dict(lr=-0.1), "lr must be > 0"),
        (dict(restarts=0), "restarts must be >= 1"),
        (dict(steps=0), "steps must be >= 1"),
        (dict(optimizer="lbfgs"), "optimizer must be one of"),
        (dict(horizon=0), "horizon must be >= 1"),
    ],
)
def test_bad_gradient_settings_raise_value_error(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_gd(**kwargs)
