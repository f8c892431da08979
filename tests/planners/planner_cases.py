"""What planner tests share besides fixtures: the test bounds, budgets of every planner, analytic costs.

Axis legend: B episodes, N candidates, H horizon (model steps), A action size of one model step.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from worldplan.planners import build_planner
from worldplan.planners.base import Planner

HORIZON = 3  # H; the tests use A = 2 (LOW, HIGH)
LOW, HIGH = [-1.0, -1.0], [1.0, 1.0]

# Every planner of ``build_planner`` at a budget that solves the test quadratics (random solves nothing).
ALL_SETTINGS = {
    "cem": dict(num_samples=128, num_elites=16, iterations=12),
    "mppi": dict(num_samples=128, num_elites=16, iterations=20, temperature=0.5),
    "icem": dict(num_samples=128, num_elites=16, iterations=12),
    "gd": dict(restarts=2, steps=50, lr=0.1),
    "cem_gd": dict(sampler=dict(name="cem", num_samples=64, num_elites=8, iterations=6), refine=2, steps=20),
    "random": dict(),
}
SEARCHING = sorted(set(ALL_SETTINGS) - {"random"})


def planner_factory(name: str) -> Callable[..., Planner]:
    """``make(**overrides)`` builds planner ``name`` through ``build_planner`` at its ``ALL_SETTINGS`` budget."""

    def make(**overrides: object) -> Planner:
        kwargs = dict(horizon=HORIZON, action_low=LOW, action_high=HIGH, seed=0, **ALL_SETTINGS[name])
        kwargs.update(overrides)
        return build_planner(name, **kwargs)

    return make


def quadratic_cost(target: Tensor) -> Callable[[Tensor], Tensor]:
    """The cost ``sum_{h,a} (actions - target)^2``, target (H, A) or (B, 1, H, A) (an optimum per episode)."""

    def cost(actions: Tensor) -> Tensor:  # (B, N, H, A) -> (B, N)
        return ((actions - target) ** 2).sum(dim=(-2, -1))

    return cost


def rastrigin(actions: Tensor) -> Tensor:
    """(B, N, H, A) -> (B, N): many local minima; global minimum 0 at 0.1 (differentiable)."""
    x = 4.0 * (actions - 0.1)
    return (x**2 - 2.0 * torch.cos(2 * math.pi * x) + 2.0).sum(dim=(-2, -1))


def far_rastrigin(actions: Tensor) -> Tensor:
    """``rastrigin`` with its global minimum at 0.7, far from the bounds' midpoint where searches start."""
    return rastrigin(actions - 0.6)
