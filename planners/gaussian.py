"""The loop CEM and MPPI share: sample around a Gaussian, score in one batch, refit, keep the best.

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step. Standard deviations (``init_std``, ``min_std``, ``max_std``) are fractions of half the
action range per dimension, so the same settings fit any bounds ([-1, 1] makes them absolute).
"""

from __future__ import annotations

import abc
from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult
from worldplan.planners.best_seen import BestSeen
from worldplan.planners.sampling import (
    SearchResult,
    as_bounds,
    clamp_bounds,
    initial_mean,
    sample_candidates,
    score,
)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class GaussianPlanner(abc.ABC):
    """Iterative sampling planner over a diagonal Gaussian; subclasses say how to refit it.

    ``plan`` returns the best sequence seen over all iterations (not the final mean): candidate 0 of
    each iteration is the current mean, so the best cost trace is non-increasing and a warm start
    that is already optimal is returned unchanged.
    """

    needs_gradients = False

    def __init__(
        self,
        *,
        horizon: int,
        action_low: Tensor | Sequence[float],
        action_high: Tensor | Sequence[float],
        num_samples: int,
        iterations: int,
        init_std: float,
        min_std: float,
        max_std: float | None,
        seed: int,
        device: str | torch.device,
    ) -> None:
        _require(horizon >= 1, f"horizon must be >= 1, got {horizon}")
        _require(num_samples >= 2, f"num_samples must be >= 2 (the mean plus samples), got {num_samples}")
        _require(iterations >= 1, f"iterations must be >= 1, got {iterations}")
        _require(min_std > 0, f"min_std must be > 0, got {min_std}")
        _require(
            min_std <= init_std and (max_std is None or init_std <= max_std),
            f"need min_std <= init_std <= max_std, got {min_std}, {init_std}, {max_std}",
        )
        self.horizon = horizon
        self.num_samples = num_samples
        self.iterations = iterations
        self.device = torch.device(device)
        self.action_low, self.action_high = as_bounds(action_low, action_high, self.device)
        self.clamp_low, self.clamp_high = clamp_bounds(self.action_low, self.action_high)  # floats when shared
        half_range = (self.action_high - self.action_low) / 2
        self.init_std = init_std * half_range  # (A,)
        self.min_std = min_std * half_range  # (A,)
        self.max_std = None if max_std is None else max_std * half_range  # (A,) or None
        self.seed = seed
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    @abc.abstractmethod
    def _refit(self, candidates: Tensor, costs: Tensor, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """Return the next (mean, std), each (B, H, A), from candidates (B, N, H, A) and costs (B, N)."""

    @property
    def evaluations_per_plan(self) -> int:
        """num_samples x iterations: one cost call of N candidates per iteration."""
        return self.num_samples * self.iterations

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Search action sequences for ``batch_size`` episodes at once.

        Args:
            cost_fn: (B, N, H, A) -> (B, N), lower is better; called once per iteration.
            batch_size: B.
            warm_start: (B, H, A) initial mean (e.g. ``shift_plan`` of the previous plan), clamped to
                the bounds; None starts from the bounds' midpoint.

        Returns:
            PlanResult with actions (B, H, A) the best sequence seen, cost_trace (B, iterations) the
            best cost after each iteration, evaluations = ``evaluations_per_plan``.
        """
        return self.search(cost_fn, batch_size, warm_start).plan_result()

    @torch.no_grad()
    def search(
        self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None, *, keep: int = 1
    ) -> SearchResult:
        """``plan``, keeping the ``keep`` best sequences seen (a hybrid planner refines them).

        Returns:
            SearchResult with actions (B, K, H, A) and costs (B, K), K = min(keep, sequences seen).
        """
        mean = initial_mean(warm_start, batch_size, self.horizon, self.action_low, self.action_high)
        std = self.init_std.expand_as(mean).clone()
        low, high = self.clamp_low, self.clamp_high
        seen = BestSeen(keep)
        for _ in range(self.iterations):
            candidates = sample_candidates(mean, std, self.num_samples, low, high, self.generator)  # (B, N, H, A)
            costs = score(cost_fn, candidates)  # (B, N)
            seen.add(candidates, costs)
            mean, refit_std = self._refit(candidates, costs, mean, std)
            if refit_std is not std:  # a fixed std (MPPI without adapt_std) is already inside its bounds
                std = refit_std.clamp(min=self.min_std, max=self.max_std)
        best, best_costs, trace = seen.result()
        return SearchResult(actions=best, costs=best_costs, cost_trace=trace, evaluations=self.evaluations_per_plan)
