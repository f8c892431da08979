"""Model predictive path integral planning over action sequences (TD-MPC2 / pytorch_mppi style).

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step, K elites (all N when ``num_elites`` is None).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.gaussian import GaussianPlanner
from worldplan.planners.sampling import top_elites, weighted_mean, weighted_mean_std


class MPPI(GaussianPlanner):
    """Refit a Gaussian to the candidates weighted by ``softmax(-(cost - min cost) / temperature)``.

    With ``relative_temperature`` the temperature is in units of each episode's elite cost range
    (max - min over the K elites), so the weights do not depend on the scale of the cost: a latent
    MSE of ~1e-3 against a temperature of 0.5 in cost units would weight all elites equally, and
    MPPI would collapse into CEM.

    Args:
        horizon: H, model steps per sequence.
        action_low, action_high: (A,) bounds of one model-step action.
        num_samples: N candidates per episode and iteration (one of them is the current mean).
        iterations: refits per plan; the cost function is called once per iteration.
        temperature: softmax temperature in cost units (or elite cost ranges); lower is greedier.
        relative_temperature: measure ``temperature`` in elite cost ranges instead of cost units.
        init_std: initial std as a fraction of half the action range.
        min_std, max_std: std floor and ceiling, same units.
        num_elites: weight only the K best candidates (TD-MPC2); None weights all N (classic MPPI).
        adapt_std: refit the std to the weighted candidates each iteration (TD-MPC2); False keeps it at
            ``init_std`` (classic MPPI, as pytorch_mppi and stable-worldmodel's MPPISolver), one
            weighted reduction fewer per iteration.
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
        iterations: int = 30,
        temperature: float = 0.5,
        relative_temperature: bool = False,
        init_std: float = 1.0,
        min_std: float = 0.05,
        max_std: float = 2.0,
        num_elites: int | None = None,
        adapt_std: bool = True,
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
            max_std=max_std,
            seed=seed,
            device=device,
        )
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if num_elites is not None and not 1 <= num_elites <= num_samples:
            raise ValueError(f"num_elites must be None or in [1, num_samples={num_samples}], got {num_elites}")
        self.temperature, self.relative_temperature = temperature, relative_temperature
        self.num_elites = num_samples if num_elites is None else num_elites
        self.adapt_std = adapt_std

    def _refit(self, candidates: Tensor, costs: Tensor, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """Weighted mean and std of the (elite) candidates (std unchanged without ``adapt_std``); each (B, H, A).
        +inf costs get weight 0."""
        if self.num_elites == candidates.shape[1]:  # all weighted: no selection needed
            elites, elite_costs = candidates, costs  # (B, N, H, A), (B, N)
        else:
            elites, elite_costs = top_elites(candidates, costs, self.num_elites, ordered=False)  # (B, K, H, A), (B, K)
        weights = torch.softmax(self._logits(elite_costs), dim=1)  # (B, K)
        if not self.adapt_std:
            return weighted_mean(weights, elites), std
        return weighted_mean_std(weights, elites)

    def _logits(self, costs: Tensor) -> Tensor:
        """-costs / temperature (B, K), the range of finite costs first scaled to 1 with ``relative_temperature``.
        The softmax is shift-invariant, so no minimum is subtracted (+inf costs get weight 0)."""
        if not self.relative_temperature:
            return costs * (-1.0 / self.temperature)
        shifted = costs - costs.amin(dim=1, keepdim=True)  # >= 0
        finite = torch.where(torch.isfinite(shifted), shifted, torch.zeros_like(shifted))
        shifted = shifted / finite.amax(dim=1, keepdim=True).clamp_min(torch.finfo(shifted.dtype).tiny)
        return shifted * (-1.0 / self.temperature)
