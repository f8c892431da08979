"""The planner interface: a cost function over batched action sequences in, a small result out.

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step. Planners import torch alone; they never see a model or an env.

Counting evaluations, the same for every planner: one *evaluation* is one candidate sequence of H
model steps scored by ``cost_fn`` for one episode, so a call on (B, N, H, A) actions adds N (the world
model then predicts N x H steps per episode). A call whose costs are back-propagated (a gradient
step) adds 2N: the backward pass costs about one more forward. ``PlanResult.evaluations`` is the sum
over one ``plan``'s cost calls; multiply by H for model steps per episode.
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
        cost_trace: (B, T) best cost seen up to each of T stages, non-increasing: T = iterations for
            sampling planners, steps + 1 for a gradient planner (the starts, then each step), both for
            a hybrid, 0 for a planner that scores nothing.
        evaluations: candidate sequences scored per episode, counted as the module docstring says.
    """

    actions: Tensor
    cost_trace: Tensor
    evaluations: int


class Planner(Protocol):
    """What the MPC loop and the evaluation record read from a planner.

    Planners are built with keyword arguments only: ``horizon``, ``action_low`` / ``action_high`` ((A,)),
    ``seed``, ``device`` and their own hyper-parameters (``build_planner``).

    Attributes:
        horizon: H, model steps per plan; the MPC loop executes 1..H of them before replanning.
        action_low: (A,) float32 lower bound of one model-step action, on the planner's device; A is
            frameskip x the env's action size.
        action_high: (A,) float32 upper bound, above ``action_low`` everywhere.
        num_samples: candidates per episode in one cost call (restarts for gradient planners).
        iterations: search iterations per plan: cost calls of a sampling planner, gradient steps of a
            gradient planner.
        evaluations_per_plan: ``PlanResult.evaluations`` of every ``plan`` call, known up front.
        needs_gradients: whether ``plan`` back-propagates through ``cost_fn`` (the caller then builds a
            differentiable cost: ``make_cost_fn(..., differentiable=True)``).
    """

    horizon: int
    action_low: Tensor
    action_high: Tensor
    num_samples: int
    iterations: int
    needs_gradients: bool

    @property
    def evaluations_per_plan(self) -> int:
        """Evaluations one ``plan`` call makes (the budget), counted as the module docstring says."""
        ...

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Search action sequences for ``batch_size`` episodes.

        Args:
            cost_fn: (B, N, H, A) -> (B, N), lower is better.
            batch_size: B.
            warm_start: (B, H, A) mean to start from (the previous plan, shifted), or None.
        """
        ...
