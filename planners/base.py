"""The planner interface: a cost function over batched action sequences in, a small result out.

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step. Planners import torch alone; they never see a model or an env.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from torch import Tensor

CostFn = Callable[[Tensor], Tensor]
"""``cost_fn(actions (B, N, H, A)) -> (B, N)`` finite costs, lower is better."""


@dataclass(frozen=True)
class PlanResult:
    """What a planner returns.

    Attributes:
        actions: (B, H, A) the best action sequence per episode, inside the bounds.
        cost_trace: (B, iterations) best cost seen up to each iteration (non-increasing).
        evaluations: candidate sequences scored in total per episode (N x iterations).
    """

    actions: Tensor
    cost_trace: Tensor
    evaluations: int


class Planner(Protocol):
    """Anything with ``plan``; built with ``horizon``, ``action_low`` / ``action_high`` ((A,)) and a seed."""

    horizon: int

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Search action sequences for ``batch_size`` episodes.

        Args:
            cost_fn: (B, N, H, A) -> (B, N), lower is better.
            batch_size: B.
            warm_start: (B, H, A) mean to start from (the previous plan, shifted), or None.
        """
        ...
