"""Shared fixtures for planner tests: small budgets and analytic costs over (B, N, H, A) actions."""

from __future__ import annotations

from typing import Callable

import pytest
from planner_cases import ALL_SETTINGS, HIGH, HORIZON, LOW, quadratic_cost
from torch import Tensor

from worldplan.planners import CEM, MPPI
from worldplan.planners.gaussian import GaussianPlanner

# Budgets that solve the test quadratics for every seed tried (0-19); MPPI weights its top 16 (TD-MPC2).
SETTINGS = {"cem": (CEM, ALL_SETTINGS["cem"]), "mppi": (MPPI, ALL_SETTINGS["mppi"])}


@pytest.fixture(params=sorted(SETTINGS))
def make_planner(request: pytest.FixtureRequest) -> Callable[..., GaussianPlanner]:
    """``make_planner(**overrides)`` builds the parametrized planner (CEM or MPPI) for the test budget."""
    cls, defaults = SETTINGS[request.param]

    def make(**overrides: object) -> GaussianPlanner:
        kwargs = dict(horizon=HORIZON, action_low=LOW, action_high=HIGH, seed=0, **defaults)
        kwargs.update(overrides)
        return cls(**kwargs)

    return make


@pytest.fixture
def quadratic() -> Callable[[Tensor], Callable[[Tensor], Tensor]]:
    """``quadratic(target)`` is the cost ``sum_{h,a} (actions - target)^2`` with target (H, A) or
    (B, 1, H, A) for a different optimum per episode."""
    return quadratic_cost
