"""The planner config group builds working planners through ``build_planner``."""

from __future__ import annotations

import pytest

from worldplan.config import compose
from worldplan.planners import CEM, MPPI, build_planner

BOUNDS = dict(action_low=[-1.0, -1.0], action_high=[1.0, 1.0])


@pytest.mark.parametrize("option, cls", [("cem", CEM), ("mppi", MPPI)])
def test_planner_option_builds_its_planner_with_the_reference_budget(option, cls) -> None:
    cfg = compose("config", [f"planner={option}"])
    planner = build_planner(**cfg.planner, **BOUNDS)
    assert isinstance(planner, cls)
    assert (planner.num_samples, planner.iterations, planner.horizon) == (300, 30, 5)


def test_tiny_preset_planner_plans_in_its_budget() -> None:
    cfg = compose("config", ["preset=tiny"])
    planner = build_planner(**cfg.planner, **BOUNDS, seed=cfg.seed)
    result = planner.plan(lambda actions: actions.square().sum(dim=(-2, -1)), batch_size=2)
    assert result.actions.shape == (2, cfg.planner.horizon, 2)
    assert result.evaluations == cfg.planner.num_samples * cfg.planner.iterations


def test_unknown_planner_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown planner 'icem'"):
        build_planner("icem", horizon=3, **BOUNDS)


def test_unknown_planner_argument_raises_value_error() -> None:
    with pytest.raises(ValueError, match="bad arguments for planner 'cem'"):
        build_planner("cem", horizon=3, temperature=0.5, **BOUNDS)
