"""Sample, then refine by gradient: CEM or iCEM finds basins, gradient steps descend them.

Axis legend: B episodes planned at once, N candidates, R refined sequences per episode, H horizon
(model steps), A action size of one model step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult
from worldplan.planners.cem import CEM
from worldplan.planners.gradient import GradientPlanner
from worldplan.planners.icem import ICEM

SAMPLERS = {"cem": CEM, "icem": ICEM}


class HybridPlanner:
    """A sampling search, then gradient steps on the R best sequences it saw; the best of both wins.

    The cost function must be differentiable (see ``GradientPlanner``) and finite on the refined
    sequences; the sampling stage calls it without gradients. The plan is never worse than the
    sampler's best: the gradient stage starts from it. With an iCEM sampler, elites carry over to
    the next plan only when the gradient stage did not improve the plan (the carry-over follows the
    sampler's own plan).

    Args:
        horizon: H, model steps per sequence.
        action_low, action_high: (A,) bounds of one model-step action.
        sampler: the sampling stage: ``name`` ("cem" or "icem", default "cem") and that planner's
            hyper-parameters (e.g. ``num_samples``, ``iterations``); bounds, seed and device are shared.
        refine: R best sampled sequences per episode that are refined, in [1, sampler num_samples].
        steps: gradient steps on them.
        lr: learning rate, in half action ranges.
        optimizer: "adam" or "sgd".
        seed: seed of both stages' generators.
        device: where candidates live and costs are expected.
    """

    needs_gradients = True

    def __init__(
        self,
        *,
        horizon: int,
        action_low: Tensor | Sequence[float],
        action_high: Tensor | Sequence[float],
        sampler: Mapping[str, Any] | None = None,
        refine: int = 8,
        steps: int = 10,
        lr: float = 0.05,
        optimizer: str = "adam",
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        settings = dict(sampler or {})
        name = settings.pop("name", "cem")
        if name not in SAMPLERS:
            raise ValueError(f"sampler name must be one of {sorted(SAMPLERS)}, got {name!r}")
        shared = dict(horizon=horizon, action_low=action_low, action_high=action_high, seed=seed, device=device)
        self.sampler = SAMPLERS[name](**shared, **settings)
        if not 1 <= refine <= self.sampler.num_samples:
            raise ValueError(f"refine must be in [1, sampler num_samples={self.sampler.num_samples}], got {refine}")
        self.gradient = GradientPlanner(**shared, restarts=refine, steps=steps, lr=lr, optimizer=optimizer)
        self.horizon = horizon
        self.action_low, self.action_high = self.sampler.action_low, self.sampler.action_high
        self.num_samples = self.sampler.num_samples
        self.iterations = self.sampler.iterations + steps

    @property
    def evaluations_per_plan(self) -> int:
        """The sampler's evaluations plus the gradient stage's, (2 x steps + 1) x refine."""
        return self.sampler.evaluations_per_plan + self.gradient.evaluations_per_plan

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Sample around the warm start, then refine the R best sequences seen.

        Args:
            cost_fn: (B, N, H, A) -> (B, N), differentiable in the actions.
            batch_size: B.
            warm_start: (B, H, A) the sampler's initial mean, or None.

        Returns:
            PlanResult with actions (B, H, A), cost_trace (B, sampler iterations + steps + 1) (the
            sampler's, then the best of it and the gradient stage's), evaluations = ``evaluations_per_plan``.
        """
        found = self.sampler.search(cost_fn, batch_size, warm_start, keep=self.gradient.num_samples)
        refined = self.gradient.refine(cost_fn, found.actions)
        sampled_best = found.costs[:, :1]  # (B, 1)
        better = refined.cost_trace[:, -1] < sampled_best[:, 0]  # (B,)
        actions = torch.where(better[:, None, None], refined.actions, found.actions[:, 0])
        trace = torch.cat([found.cost_trace, torch.minimum(refined.cost_trace, sampled_best)], dim=1)
        return PlanResult(actions=actions, cost_trace=trace, evaluations=found.evaluations + refined.evaluations)
