"""The random baseline: a planner that ignores the cost and returns uniform actions within bounds.

Axis legend: B episodes, H horizon (model steps), A action size of one model step.

It has the planner interface, so it runs through the same MPC loop (same envs, goals, step budget,
replanning and metrics) as CEM and MPPI; it scores nothing, so its evaluations are 0 and its cost
traces are empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult
from worldplan.planners.sampling import as_bounds


class RandomPlanner:
    """Uniform random action sequences, seeded.

    Args:
        horizon: H, model steps per plan.
        action_low, action_high: (A,) bounds of one model-step action.
        seed: seed of the planner's ``torch.Generator``.
        device: where actions are drawn.
    """

    name = "random"

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
        self.num_samples = 1
        self.iterations = 0
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Draw (B, H, A) actions uniformly in the bounds; ``cost_fn`` and ``warm_start`` are not used.

        Returns:
            PlanResult with actions (B, H, A), cost_trace (B, 0) and evaluations 0.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        shape = (batch_size, self.horizon, self.action_low.numel())
        unit = torch.rand(shape, generator=self.generator, device=self.device)
        actions = self.action_low + unit * (self.action_high - self.action_low)
        return PlanResult(actions=actions, cost_trace=actions.new_empty((batch_size, 0)), evaluations=0)
