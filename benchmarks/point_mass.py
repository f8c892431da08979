"""The objective and timing helpers shared by ``benchmarks/planners.py`` and its peer adapters.

A 2-D point mass (double integrator) that must end the horizon at ``GOAL``; ``clipped_cost`` is the callable
every planner gets. ``CostTimer`` adds up the time spent inside cost callables, and a ``Contender`` is one
table row: a planner on this objective at one budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

DT = 0.2
GOAL = torch.tensor([0.4, -0.3])
LOW, HIGH = [-1.0, -1.0], [1.0, 1.0]
KEPT_ELITES = 5  # iCEM: elites carried from one iteration to the next


def step(state: Tensor, u: Tensor) -> Tensor:
    """Double integrator: state (..., 4) = (position, velocity), u (..., 2) acceleration -> next state."""
    vel = state[..., 2:] + DT * u
    return torch.cat([state[..., :2] + DT * vel, vel], dim=-1)


def terminal_cost(actions: Tensor) -> Tensor:
    """Actions (B, N, H, 2) from rest at the origin -> (B, N) squared distance of the final position to GOAL."""
    state = torch.zeros(*actions.shape[:-2], 4)
    for h in range(actions.shape[-2]):
        state = step(state, actions[..., h, :])
    return ((state[..., :2] - GOAL) ** 2).sum(dim=-1)


def clipped_cost(actions: Tensor) -> Tensor:
    """The objective every planner gets: actions (B, N, H, 2), clamped to the bounds -> (B, N)."""
    return terminal_cost(actions.clamp(LOW[0], HIGH[0]))


class CostTimer:
    """Wraps cost callables and adds up the wall time spent inside them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        def timed(*args: object) -> Tensor:
            start = time.perf_counter()
            out = fn(*args)
            self.seconds += time.perf_counter() - start
            return out

        return timed


@dataclass(frozen=True)
class Contender:
    """One table row: ``plan(seed, timer) -> actions (B, H, 2)`` is timed, its cost callables wrapped by
    ``timer``; ``best_sample(seed)`` (untimed) is the lowest cost per episode among all candidates it sampled,
    when the planner does not return that itself."""

    name: str
    family: str  # CEM, iCEM or MPPI: rows of one family, temperature and B are compared
    temperature: float | None
    batch: int
    iterations: int
    plan: Callable[[int, CostTimer], Tensor]
    best_sample: Callable[[int], list[float]] | None = None
