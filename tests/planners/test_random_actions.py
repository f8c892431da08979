"""The random-actions baseline as a planner: uniform in the bounds, seeded, no cost calls."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

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


def test_it_reports_one_unscored_sequence_per_plan() -> None:
    planner = build_planner("random", horizon=5, seed=3, **BOUNDS)
    assert (planner.num_samples, planner.iterations, planner.evaluations_per_plan) == (1, 0, 0)


def test_bad_horizon_and_batch_size_raise_value_error() -> None:
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        RandomPlanner(horizon=0, **BOUNDS)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        RandomPlanner(horizon=2, **BOUNDS).plan(never_called, batch_size=0)
