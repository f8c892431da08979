"""The random-actions baseline as a planner: uniform action sequences within the bounds, no cost calls.

Axis legend: B episodes, H horizon (model steps), A action size of one model step.

It has the planner interface, so it runs through the same MPC loop (same envs, goals, step budget,
replanning and metrics) as the other planners; it scores nothing, so its evaluations are 0 and its
cost traces are empty. For a seed it draws the same actions as ``worldplan.evaluate.random_policy``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult
from worldplan.planners.sampling import as_bounds


class RandomPlanner:
    """Uniform random action sequences, seeded; ``cost_fn`` and ``warm_start`` are not used.

    Args:
        horizon: H, model steps per plan.
        action_low, action_high: (A,) bounds of one model-step action.
        seed: seed of the planner's ``torch.Generator``.
        device: where actions are drawn.
    """

    needs_gradients = False

    num_samples = 1  # one sequence drawn per episode and plan
    iterations = 0  # and never scored
    evaluations_per_plan = 0

    def __init__(
        self,
        *,
        horizon: int,
        action_low: Tensor | Sequence[float],
        action_high: Tensor | Sequence[float],
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.horizon = horizon
        self.device = torch.device(device)
        self.action_low, self.action_high = as_bounds(action_low, action_high, self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Draw (B, H, A) actions uniformly in the bounds.

        Returns:
            PlanResult with actions (B, H, A), cost_trace (B, 0) and evaluations 0.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        shape = (batch_size, self.horizon, self.action_low.numel())
        unit = torch.rand(shape, generator=self.generator, device=self.device)
        actions = self.action_low + unit * (self.action_high - self.action_low)
        return PlanResult(actions=actions, cost_trace=actions.new_empty((batch_size, 0)), evaluations=0)
