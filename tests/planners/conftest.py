"""Shared fixtures for planner tests: small budgets and analytic costs over (B, N, H, A) actions."""

from __future__ import annotations

from typing import Callable

import pytest
import torch
from torch import Tensor

from worldplan.planners import CEM, MPPI
from worldplan.planners.gaussian import GaussianPlanner

HORIZON = 3  # H; the tests use A = 2 (LOW, HIGH)
LOW, HIGH = [-1.0, -1.0], [1.0, 1.0]

# Budgets that solve the test quadratics for every seed tried (0-19); MPPI weights its top 16 (TD-MPC2).
SETTINGS = {
    "cem": (CEM, dict(num_samples=128, num_elites=16, iterations=12)),
    "mppi": (MPPI, dict(num_samples=128, num_elites=16, iterations=20, temperature=0.5)),
}


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


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

    def build(target: Tensor) -> Callable[[Tensor], Tensor]:
        def cost(actions: Tensor) -> Tensor:  # (B, N, H, A) -> (B, N)
            return ((actions - target) ** 2).sum(dim=(-2, -1))

        return cost

    return build
