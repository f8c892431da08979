"""The planner config group builds working planners through ``build_planner``."""

from __future__ import annotations

import pytest
import torch

from worldplan.config import compose
from worldplan.planners import CEM, ICEM, MPPI, GradientPlanner, HybridPlanner, RandomPlanner, build_planner

BOUNDS = dict(action_low=[-1.0, -1.0], action_high=[1.0, 1.0])


@pytest.mark.parametrize("option, cls", [("cem", CEM), ("mppi", MPPI)])
def test_planner_option_builds_its_planner_with_the_reference_budget(option, cls) -> None:
    cfg = compose("config", [f"planner={option}"])
    planner = build_planner(**cfg.planner, **BOUNDS)
    assert isinstance(planner, cls)
    assert (planner.num_samples, planner.iterations, planner.horizon) == (300, 30, 5)


@pytest.mark.parametrize(
    "option, cls, evaluations",
    [
        ("icem", ICEM, 2566),  # 300, 240, 192, ... down to 2 x 30 over 30 iterations, plus the mean
        ("gd", GradientPlanner, (2 * 50 + 1) * 8),
        ("cem_gd", HybridPlanner, 300 * 10 + (2 * 20 + 1) * 8),
        ("random", RandomPlanner, 0),
    ],
)
def test_new_planner_options_build_their_planner_with_the_commented_budget(option, cls, evaluations) -> None:
    cfg = compose("config", [f"planner={option}"])
    planner = build_planner(**cfg.planner, **BOUNDS)
    assert isinstance(planner, cls)
    assert planner.horizon == 5 and planner.evaluations_per_plan == evaluations


@pytest.mark.parametrize("option", ["icem", "gd", "cem_gd", "random"])
def test_new_planner_options_plan_with_a_shrunk_budget(option) -> None:
    shrink = {
        "icem": ["planner.num_samples=16", "planner.num_elites=4", "planner.iterations=2"],
        "gd": ["planner.restarts=2", "planner.steps=2"],
        "cem_gd": ["planner.sampler.num_samples=16", "planner.sampler.num_elites=4", "planner.sampler.iterations=2",
                   "planner.refine=2", "planner.steps=2"],
        "random": [],
    }[option]
    cfg = compose("config", [f"planner={option}", *shrink])
    planner = build_planner(**cfg.planner, **BOUNDS, seed=cfg.seed)
    result = planner.plan(lambda actions: actions.square().sum(dim=(-2, -1)), batch_size=2)
    assert result.actions.shape == (2, 5, 2) and torch.isfinite(result.actions).all()
    assert result.evaluations == planner.evaluations_per_plan


def test_tiny_preset_planner_plans_in_its_budget() -> None:
    cfg = compose("config", ["preset=tiny"])
    planner = build_planner(**cfg.planner, **BOUNDS, seed=cfg.seed)
    result = planner.plan(lambda actions: actions.square().sum(dim=(-2, -1)), batch_size=2)
    assert result.actions.shape == (2, cfg.planner.horizon, 2)
    assert result.evaluations == cfg.planner.num_samples * cfg.planner.iterations


def test_unknown_planner_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown planner 'cma_es'"):
        build_planner("cma_es", horizon=3, **BOUNDS)


def test_unknown_planner_argument_raises_value_error() -> None:
    with pytest.raises(ValueError, match="bad arguments for planner 'cem'"):
        build_planner("cem", horizon=3, temperature=0.5, **BOUNDS)
