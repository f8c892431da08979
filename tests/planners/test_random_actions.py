"""The random-actions baseline as a planner: uniform in the bounds, seeded, no cost calls."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from worldplan.evaluate.random_policy import RandomPlanner as RandomPolicy
from worldplan.planners import RandomPlanner, build_planner

BOUNDS = dict(action_low=[-1.0, 0.0], action_high=[1.0, 4.0])


def never_called(actions: Tensor) -> Tensor:
    raise AssertionError("the random planner must not call the cost function")


def test_actions_are_uniform_within_the_bounds_without_cost_calls() -> None:
    result = RandomPlanner(horizon=50, seed=0, **BOUNDS).plan(never_called, batch_size=40)
    actions = result.actions  # (40, 50, 2)
    assert (actions.amin(dim=(0, 1)) >= torch.tensor([-1.0, 0.0])).all()
    assert (actions.amax(dim=(0, 1)) <= torch.tensor([1.0, 4.0])).all()
    assert torch.allclose(actions.mean(dim=(0, 1)), torch.tensor([0.0, 2.0]), atol=0.05)
    assert result.evaluations == 0 and result.cost_trace.shape == (40, 0)


def test_it_draws_what_the_evaluate_random_policy_draws_for_the_same_seed() -> None:
    planner = build_planner("random", horizon=5, seed=3, **BOUNDS)
    policy = RandomPolicy(horizon=5, seed=3, **BOUNDS)
    for _ in range(2):  # successive plans too
        assert torch.equal(planner.plan(never_called, 4).actions, policy.plan(never_called, 4).actions)
    assert (planner.num_samples, planner.iterations, planner.evaluations_per_plan) == (1, 0, 0)


def test_bad_horizon_and_batch_size_raise_value_error() -> None:
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        RandomPlanner(horizon=0, **BOUNDS)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        RandomPlanner(horizon=2, **BOUNDS).plan(never_called, batch_size=0)
