"""The best sequences a sampling search has seen over its iterations, its cost trace and the check that every
episode saw a finite cost (``BestSeen``).

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one model step,
K sequences kept.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor

from worldplan.planners.sampling import NonFiniteCostError

logger = logging.getLogger(__name__)


def check_finite(nonfinite: list[int], scored: int) -> None:
    """Raise for episodes whose every one of ``scored`` costs was NaN or inf; log how many were.

    Args:
        nonfinite: per episode, how many of its costs were not finite.
        scored: costs scored per episode.
    """
    dead = [b for b, count in enumerate(nonfinite) if count == scored]
    if dead:
        raise NonFiniteCostError(
            f"cost_fn returned no finite cost for episodes {dead} (all {scored} candidates NaN or inf); "
            "check the model outputs and the goal features"
        )
    if sum(nonfinite):
        logger.warning("cost_fn returned %d non-finite costs out of %d; treating them as +inf", sum(nonfinite),
                       scored * len(nonfinite))


def merge_best(
    best: Tensor, best_costs: Tensor, candidates: Tensor, costs: Tensor, keep: int
) -> tuple[Tensor, Tensor]:
    """The ``keep`` lowest-cost sequences of ``best`` and ``candidates`` together, ``best`` first on ties.

    Args:
        best: (B, K, H, A) sequences kept so far (K may be 0), by increasing cost.
        best_costs: (B, K) their costs.
        candidates: (B, N, H, A) newly scored sequences.
        costs: (B, N) their costs (+inf for non-finite ones).
        keep: how many to keep.

    Returns:
        (best (B, K', H, A), best_costs (B, K')) with K' = min(keep, K + N), by increasing cost.
    """
    pool, pool_costs = torch.cat([best, candidates], dim=1), torch.cat([best_costs, costs], dim=1)
    index = torch.sort(pool_costs, dim=1, stable=True).indices[:, :keep]  # (B, K')
    kept = torch.gather(pool, 1, index[:, :, None, None].expand(-1, -1, *pool.shape[2:]))
    return kept, torch.gather(pool_costs, 1, index)


def per_iteration_extremes(costs: list[Tensor]) -> tuple[Tensor, Tensor]:
    """The minimum and maximum over N of each iteration's (B, N_i) costs, each (B, iterations).

    Where every iteration scored as many candidates (all but iCEM with a decaying population), the costs are
    stacked into one (B, iterations, N) tensor and reduced twice: 10 µs against 96 for two reductions per
    iteration at B = 1, 50 against 141 at B = 16 (N = 300, 30 iterations, one thread)."""
    if len({c.shape[1] for c in costs}) == 1:
        stacked = torch.stack(costs, dim=1)  # (B, iterations, N)
        return stacked.amin(dim=2), stacked.amax(dim=2)
    return torch.stack([c.amin(dim=1) for c in costs], dim=1), torch.stack([c.amax(dim=1) for c in costs], dim=1)


class BestSeen:
    """The ``keep`` lowest-cost sequences of each episode over a search's iterations, its cost trace, and the
    check that every episode saw a finite cost.

    Every iteration's costs are kept (B x N floats). With keep = 1 (every planner's own plan) an iteration
    also keeps a reference to its candidates (the planners sample new tensors each iteration) and ``result``
    finds the best of each episode once, at the end: the earliest iteration whose minimum is the lowest,
    then that iteration's first lowest candidate (so ties go to the earlier iteration, then the first
    candidate). With keep > 1 (a hybrid's sampling stage) each iteration merges into the kept pool
    (``merge_best``).
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.costs: list[Tensor] = []  # per iteration (B, N_i): its costs, +inf for non-finite ones
        self.sequences: list[Tensor] = []  # per iteration (B, N_i, H, A): its candidates (keep = 1)
        self.pool: tuple[Tensor, Tensor] | None = None  # (B, K, H, A), (B, K) with keep > 1

    def add(self, candidates: Tensor, costs: Tensor) -> None:
        """Take in one iteration's candidates (B, N, H, A) and their costs (B, N) (+inf for non-finite);
        neither may be changed in place afterwards."""
        self.costs.append(costs)
        if self.keep > 1:
            best, best_costs = self.pool or (candidates[:, :0], costs[:, :0])
            self.pool = merge_best(best, best_costs, candidates, costs, self.keep)
            return
        self.sequences.append(candidates)

    def result(self) -> tuple[Tensor, Tensor, Tensor]:
        """(best (B, K, H, A), their costs (B, K) by increasing cost, trace (B, iterations) of the best cost
        after each iteration: the running minimum of each iteration's minimum).

        Only per-iteration reductions over N run here, and the host is read once: a
        reduction over all the costs concatenated is slow on a CPU where it is not vectorised (``argmin``,
        ``isinf``: 190 µs each over B = 16 x 30 iterations x N = 300 costs, against 2 µs for an iteration's
        ``amin``, one thread). Non-finite costs are counted (``check_finite``) only when some iteration has one.
        """
        minima, maxima = per_iteration_extremes(self.costs)  # (B, iterations) each; a maximum is +inf if any was
        first_best, has_nonfinite = torch.stack(
            [minima.argmin(dim=1), maxima.isinf().any(dim=1).long()]).tolist()
        if any(has_nonfinite):
            costs = torch.cat(self.costs, dim=1)  # (B, all sequences scored)
            check_finite(torch.isinf(costs).sum(dim=1).tolist(), costs.shape[1])
        trace = minima.cummin(dim=1).values
        if self.pool is not None:
            return *self.pool, trace
        return self._first_lowest(first_best).unsqueeze(1), trace[:, -1:], trace

    def _first_lowest(self, best_iteration: list[int]) -> Tensor:
        """(B, H, A) the first lowest-cost candidate of each episode in its ``best_iteration`` (no host read).

        A lookup for all B episodes in one iteration costs 1.5x one for a single episode (13 vs 8 µs, B = 16,
        N = 300, one thread), so episodes are looked up per distinct best iteration when there are fewer than
        2/3 B of those, else one by one. At B = 16 with 5 iterations of N = 64 (one thread) ``result`` takes 205
        -> 160 µs in the point-mass plans of ``benchmarks/planners.py``, 166 -> 112 µs with random costs."""
        iterations = sorted(set(best_iteration))
        if 3 * len(iterations) >= 2 * len(best_iteration):
            return torch.stack([self._lowest_of(b, i) for b, i in enumerate(best_iteration)])
        lowest = torch.cat([self._lowest_in(i) for i in iterations])  # (distinct iterations x B, H, A)
        which = [iterations.index(i) * len(best_iteration) + b for b, i in enumerate(best_iteration)]
        return lowest.index_select(0, torch.tensor(which, device=lowest.device))

    def _lowest_of(self, episode: int, iteration: int) -> Tensor:
        """(H, A) the first lowest-cost candidate of ``episode`` in ``iteration``."""
        position = self.costs[iteration][episode].argmin()  # 0-d
        return self.sequences[iteration][episode].index_select(0, position.view(1)).squeeze(0)

    def _lowest_in(self, iteration: int) -> Tensor:
        """(B, H, A) the first lowest-cost candidate of every episode in ``iteration``."""
        costs, sequences = self.costs[iteration], self.sequences[iteration]  # (B, N), (B, N, H, A)
        batch, num = costs.shape
        position = costs.argmin(dim=1) + torch.arange(0, batch * num, num, device=costs.device)  # (B,) into B x N
        return sequences.flatten(0, 1).index_select(0, position)
