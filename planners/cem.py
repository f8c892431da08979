"""Cross-entropy method over action sequences (DINO-WM / TD-MPC2 style).

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step, K elites.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.gaussian import GaussianPlanner
from worldplan.planners.sampling import mean_std, top_elites


class CEM(GaussianPlanner):
    """Sample N sequences around a Gaussian, refit mean and std to the K best, repeat.

    Args:
        horizon: H, model steps per sequence.
        action_low, action_high: (A,) bounds of one model-step action.
        num_samples: N candidates per episode and iteration (one of them is the current mean).
        num_elites: K candidates the Gaussian is refit to.
        iterations: refits per plan; the cost function is called once per iteration.
        init_std: initial std as a fraction of half the action range.
        min_std: std floor, same units.
        momentum: weight of the old mean/std in the refit (0: plain CEM).
        seed: seed of the planner's ``torch.Generator``.
        device: where candidates are sampled and costs are expected.
    """

    def __init__(
        self,
        *,
        horizon: int,
        action_low: Tensor | Sequence[float],
        action_high: Tensor | Sequence[float],
        num_samples: int = 300,
        num_elites: int = 30,
        iterations: int = 30,
        init_std: float = 1.0,
        min_std: float = 0.05,
        momentum: float = 0.0,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(
            horizon=horizon,
            action_low=action_low,
            action_high=action_high,
            num_samples=num_samples,
            iterations=iterations,
            init_std=init_std,
            min_std=min_std,
            max_std=None,
            seed=seed,
            device=device,
        )
        if not 1 <= num_elites <= num_samples:
            raise ValueError(f"num_elites must be in [1, num_samples={num_samples}], got {num_elites}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.num_elites = num_elites
        self.momentum = momentum

    def _refit(self, candidates: Tensor, costs: Tensor, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and (population) std of the elites, blended with the old ones by ``momentum``; each (B, H, A)."""
        elites, _ = top_elites(candidates, costs, self.num_elites, ordered=False)  # (B, K, H, A)
        elite_mean, elite_std = mean_std(elites)
        if not self.momentum:
            return elite_mean, elite_std
        return (
            self.momentum * mean + (1 - self.momentum) * elite_mean,
            self.momentum * std + (1 - self.momentum) * elite_std,
        )
