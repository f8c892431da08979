"""Improved cross-entropy method (iCEM, Pinneri et al. 2020, "Sample-efficient cross-entropy method for
real-time planning").

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step, K elites, K' kept elites (``keep_elites_fraction`` x K).

Against CEM: samples are colored noise along time (power spectral density ~ 1/f^beta, smooth action
sequences for beta > 0); the K' best sequences are kept from one iteration to the next and, shifted,
from one plan to the next; the population shrinks by ``population_decay`` per iteration; the mean is
scored in the last iteration only.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn
from worldplan.planners.best_seen import BestSeen
from worldplan.planners.cem import CEM
from worldplan.planners.sampling import (
    SearchResult,
    colored_noise,
    initial_mean,
    score,
    top_elites,
)


class ICEM(CEM):
    """CEM with colored noise, kept elites, a shrinking population and the mean scored last.

    Iteration i scores N_i = max(2K, N / population_decay^i) fresh samples (plus the mean in the last
    iteration) and refits to the K best of the fresh samples and the K' elites kept from iteration
    i - 1, whose costs are reused (the cost is deterministic). A kept elite is never lost, so the best
    cost trace is non-increasing. After a plan the K' best sequences are remembered; when the next
    warm start is that plan shifted by s steps (as the MPC loop passes it), they replace the last K'
    samples of the first iteration, shifted by s, for those episodes.

    Args:
        horizon: H, model steps per sequence.
        action_low, action_high: (A,) bounds of one model-step action.
        num_samples: N, samples of the first iteration.
        num_elites: K candidates the Gaussian is refit to, in [1, N / 2].
        iterations: refits per plan; the cost function is called once per iteration.
        init_std: initial std as a fraction of half the action range.
        min_std: std floor, same units.
        momentum: weight of the old mean/std in the refit (iCEM's alpha, 0.1 in the paper).
        noise_beta: spectrum exponent of the sampling noise, in [0, 4]; 0 is white noise (CEM's).
        keep_elites_fraction: fraction of the K elites kept across iterations and plans, in [0, 1].
        population_decay: N shrinks by this factor per iteration, >= 1 (1: constant population).
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
        iterations: int = 10,
        init_std: float = 1.0,
        min_std: float = 0.05,
        momentum: float = 0.1,
        noise_beta: float = 2.0,
        keep_elites_fraction: float = 0.3,
        population_decay: float = 1.25,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(
            horizon=horizon,
            action_low=action_low,
            action_high=action_high,
            num_samples=num_samples,
            num_elites=num_elites,
            iterations=iterations,
            init_std=init_std,
            min_std=min_std,
            momentum=momentum,
            seed=seed,
            device=device,
        )
        if 2 * num_elites > num_samples:
            raise ValueError(f"num_elites must be <= num_samples // 2 = {num_samples // 2}, got {num_elites}")
        if not 0.0 <= noise_beta <= 4.0:
            raise ValueError(f"noise_beta must be in [0, 4] (0: white noise, 2: iCEM's default), got {noise_beta}")
        if not 0.0 <= keep_elites_fraction <= 1.0:
            raise ValueError(f"keep_elites_fraction must be in [0, 1], got {keep_elites_fraction}")
        if not population_decay >= 1.0:
            raise ValueError(f"population_decay must be >= 1, got {population_decay}")
        self.noise_beta = noise_beta
        self.num_kept = int(keep_elites_fraction * num_elites)
        self.population_sizes = [
            max(2 * num_elites, int(num_samples / population_decay**i)) for i in range(iterations)
        ]
        self._memory: tuple[Tensor, Tensor] | None = None  # last plan (B, H, A) and its kept elites (B, K', H, A)

    @property
    def evaluations_per_plan(self) -> int:
        """N_0 + N_1 + ... + N_{iterations-1} fresh samples, plus the mean in the last iteration."""
        return sum(self.population_sizes) + 1

    @torch.no_grad()
    def search(
        self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None, *, keep: int = 1
    ) -> SearchResult:
        """``plan``, keeping the ``keep`` best sequences seen (a hybrid planner refines them).

        Returns:
            SearchResult with actions (B, K, H, A) and costs (B, K), K = min(keep, sequences seen),
            cost_trace (B, iterations) and evaluations = ``evaluations_per_plan``.
        """
        mean = initial_mean(warm_start, batch_size, self.horizon, self.action_low, self.action_high)
        std = self.init_std.expand_as(mean).clone()
        kept, kept_costs = mean.unsqueeze(1)[:, :0], mean.new_empty((batch_size, 0))  # nothing kept yet: (B, 0, H, A)
        seen = BestSeen(keep)
        for it, size in enumerate(self.population_sizes):
            fresh = self._sample(mean, std, size)  # (B, N_i, H, A)
            if it == 0:
                fresh = self._carry_in(fresh, warm_start)
            if it == self.iterations - 1:
                fresh = torch.cat([fresh, mean.unsqueeze(1)], dim=1)
            fresh_costs = score(cost_fn, fresh)  # (B, N_i)
            seen.add(fresh, fresh_costs)
            population, costs = torch.cat([kept, fresh], dim=1), torch.cat([kept_costs, fresh_costs], dim=1)
            kept, kept_costs = top_elites(population, costs, self.num_kept)  # (B, K', H, A)
            mean, std = self._refit(population, costs, mean, std)
            std = std.clamp(min=self.min_std)
        best, best_costs, trace = seen.result()
        self._memory = (best[:, 0].clone(), kept)
        return SearchResult(actions=best, costs=best_costs, cost_trace=trace, evaluations=self.evaluations_per_plan)

    def _sample(self, mean: Tensor, std: Tensor, size: int) -> Tensor:
        """(B, size, H, A) colored-noise samples around mean (B, H, A) with std (B, H, A), clamped to the bounds."""
        shape = (mean.shape[0], size, *mean.shape[1:])
        noise = colored_noise(shape, self.noise_beta, self.generator, self.device)
        samples = mean.unsqueeze(1) + std.unsqueeze(1) * noise
        return samples.clamp_(self.clamp_low, self.clamp_high)

    def _carry_in(self, samples: Tensor, warm_start: Tensor | None) -> Tensor:
        """Replace the last K' of ``samples`` (B, N, H, A) by the last plan's kept elites, where they carry over."""
        carried = self._carried(warm_start)
        if carried is None:
            return samples
        elites, matched = carried  # (B, K', H, A), (B,)
        tail = torch.where(matched[:, None, None, None], elites, samples[:, -self.num_kept :])
        return torch.cat([samples[:, : -self.num_kept], tail], dim=1)

    def _carried(self, warm_start: Tensor | None) -> tuple[Tensor, Tensor] | None:
        """The remembered kept elites, shifted as the warm start shifts the remembered plan.

        Episodes are matched by value: row b carries over the elites of the remembered episode r and
        shift s (0..H) with ``warm_start[b] == shift_plan(plan, s)[r]``. Carried elites are only
        extra candidates, so a chance match costs nothing but K' samples.

        Returns:
            (elites (B, K', H, A), matched (B,) bool), or None when nothing can carry over.
        """
        if warm_start is None or self._memory is None or self.num_kept == 0:
            return None
        plans, elites = self._memory  # (B0, H, A), (B0, K', H, A)
        horizon = self.horizon
        time = (torch.arange(horizon)[None] + torch.arange(horizon + 1)[:, None]).clamp(max=horizon - 1)  # (S, H)
        time = time.to(self.device)
        shifted = plans[:, time]  # (B0, S, H, A): each remembered plan shifted by s = 0..H
        warm = warm_start.detach().to(device=self.device, dtype=torch.float32)
        same = (shifted[None] == warm[:, None, None]).flatten(3).all(dim=3).flatten(1)  # (B, B0 x S)
        first = same.int().argmax(dim=1)  # (B,) the first matching (remembered row, shift)
        row, shift = first // (horizon + 1), first % (horizon + 1)
        index = time[shift][:, None, :, None].expand(-1, self.num_kept, -1, elites.shape[-1])  # (B, K', H, A)
        return torch.gather(elites[row], 2, index), same.any(dim=1)
