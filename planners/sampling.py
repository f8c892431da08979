"""The parts every planner shares: bounds, sampling, scoring, elites, warm starts, errors.

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step, K elites. Everything here is torch tensor code; nothing knows about models or envs.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult

logger = logging.getLogger(__name__)


class NonFiniteCostError(ValueError):
    """The cost function returned no finite cost for some episode (NaN or inf everywhere)."""


class NonFiniteGradientError(NonFiniteCostError):
    """A gradient planner met a NaN or infinite cost or gradient; it never returns a NaN plan."""


@dataclass(frozen=True)
class SearchResult:
    """The best sequences one sampling search saw, best first, with the search's bookkeeping.

    Attributes:
        actions: (B, K, H, A) the K lowest-cost sequences seen per episode, by increasing cost.
        costs: (B, K) their costs.
        cost_trace: (B, iterations) best cost after each iteration (non-increasing).
        evaluations: counted as ``PlanResult.evaluations``.
    """

    actions: Tensor
    costs: Tensor
    cost_trace: Tensor
    evaluations: int

    def plan_result(self) -> PlanResult:
        """The search as a ``PlanResult``: its best sequence, trace and evaluations."""
        return PlanResult(actions=self.actions[:, 0], cost_trace=self.cost_trace, evaluations=self.evaluations)


def as_bounds(
    action_low: Tensor | Sequence[float], action_high: Tensor | Sequence[float], device: torch.device
) -> tuple[Tensor, Tensor]:
    """Check and convert action bounds.

    Args:
        action_low: (A,) lower bound of one model-step action.
        action_high: (A,) upper bound, strictly above ``action_low`` everywhere.
        device: where the planner keeps its tensors.

    Returns:
        (low, high), each (A,) float32 on ``device``.
    """
    low = torch.as_tensor(action_low, dtype=torch.float32)
    high = torch.as_tensor(action_high, dtype=torch.float32)
    if low.ndim != 1 or low.shape != high.shape or low.numel() == 0:
        raise ValueError(
            f"action_low and action_high must both have shape (A,) with A >= 1, got "
            f"{tuple(low.shape)} and {tuple(high.shape)}"
        )
    lows, highs = low.tolist(), high.tolist()  # A values: checked on the host, once per planner
    if not all(map(math.isfinite, lows + highs)):
        raise ValueError("action bounds must be finite; clip unbounded action spaces before planning")
    bad = [i for i, (lo, hi) in enumerate(zip(lows, highs)) if not lo < hi]
    if bad:
        raise ValueError(f"action_low must be < action_high in every dimension; violated at indices {bad}")
    return low.to(device), high.to(device)


def initial_mean(
    warm_start: Tensor | None, batch_size: int, horizon: int, low: Tensor, high: Tensor
) -> Tensor:
    """The sampling mean of the first iteration.

    Args:
        warm_start: (B, H, A) a previous plan (shifted), or None for the bounds' midpoint.
        batch_size: B.
        horizon: H.
        low, high: (A,) action bounds.

    Returns:
        (B, H, A) float32 mean inside the bounds (a warm start is clamped to them).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    expected = (batch_size, horizon, low.numel())
    if warm_start is None:
        return ((low + high) / 2).expand(expected).clone()
    if tuple(warm_start.shape) != expected:
        raise ValueError(f"warm_start must have shape (B, H, A) = {expected}, got {tuple(warm_start.shape)}")
    mean = warm_start.detach().to(device=low.device, dtype=torch.float32)
    if not torch.isfinite(mean).all():
        raise ValueError("warm_start contains NaN or inf; pass None or a finite plan")
    return torch.maximum(torch.minimum(mean, high), low)


def clamp_bounds(low: Tensor, high: Tensor) -> tuple[float | Tensor, float | Tensor]:
    """The (A,) bounds as ``clamp`` takes them fastest: two floats when every dimension has the same bounds,
    else the tensors. A scalar clamp of (B, N, H, A) candidates is 2.5x (B = 1) to 20x (B = 16) cheaper on a
    CPU than one broadcasting (A,) bounds (measured, one thread, N = 300, H = 5, A = 2). Reads the host once:
    call it when a planner is built, not in its loop."""
    lows, highs = set(low.tolist()), set(high.tolist())
    if len(lows) == len(highs) == 1:
        return lows.pop(), highs.pop()
    return low, high


def sample_candidates(
    mean: Tensor, std: Tensor, num_samples: int, low: float | Tensor, high: float | Tensor,
    generator: torch.Generator,
) -> Tensor:
    """Draw candidate sequences from a diagonal Gaussian, clamped to the bounds.

    Candidate 0 of every episode is the mean itself, so the best cost seen can never get worse
    from one iteration to the next.

    Args:
        mean: (B, H, A) sampling mean, inside the bounds.
        std: (B, H, A) sampling standard deviation.
        num_samples: N (>= 2), candidates per episode including the mean.
        low, high: (A,) action bounds, or floats shared by every dimension (``clamp_bounds``).
        generator: seeded generator on the planner's device.

    Returns:
        (B, N, H, A) candidates inside [low, high].
    """
    center = mean.unsqueeze(1)  # (B, 1, H, A)
    noise = torch.randn(
        (mean.shape[0], num_samples - 1, *mean.shape[1:]), generator=generator, device=mean.device, dtype=mean.dtype
    )
    spread = torch.addcmul(center, std.unsqueeze(1), noise, out=noise)  # in place: one (B, N - 1, H, A) buffer
    return torch.cat([center, spread], dim=1).clamp_(low, high)


def check_cost_shape(costs: object, candidates: Tensor) -> Tensor:
    """Return ``costs`` if it is a (B, N) Tensor for ``candidates`` (B, N, H, A); raise naming the shapes if not."""
    expected = tuple(candidates.shape[:2])
    if not isinstance(costs, Tensor):
        raise TypeError(f"cost_fn must return a Tensor of shape (B, N) = {expected}, got {type(costs).__name__}")
    if tuple(costs.shape) != expected:
        raise ValueError(
            f"cost_fn returned shape {tuple(costs.shape)} for actions of shape {tuple(candidates.shape)}; "
            f"expected (B, N) = {expected}"
        )
    return costs


def score(cost_fn: CostFn, candidates: Tensor) -> Tensor:
    """(B, N, H, A) candidates -> (B, N) float32 costs on their device, +inf where not finite.

    Non-finite costs become +inf (never chosen) in one op, so the search loop never waits for the device (on
    a GPU a host read per iteration would stall the queue); +inf marks every non-finite cost, and
    ``BestSeen.result`` counts them once per search.
    """
    costs = check_cost_shape(cost_fn(candidates), candidates)
    if costs.requires_grad or costs.dtype != torch.float32 or costs.device != candidates.device:
        costs = costs.detach().to(device=candidates.device, dtype=torch.float32)
    return torch.nan_to_num(costs, nan=math.inf, posinf=math.inf, neginf=math.inf)


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


def top_elites(candidates: Tensor, costs: Tensor, num_elites: int, *, ordered: bool = True) -> tuple[Tensor, Tensor]:
    """The ``num_elites`` lowest-cost candidates of each episode.

    Args:
        candidates: (B, N, H, A).
        costs: (B, N).
        num_elites: K <= N.
        ordered: sort them by increasing cost; False (cheaper) for refits that do not read the order.

    Returns:
        (elites (B, K, H, A), elite_costs (B, K)), sorted by increasing cost if ``ordered``.
    """
    elite_costs, index = torch.topk(costs, num_elites, dim=1, largest=False, sorted=ordered)  # (B, K)
    elites = torch.gather(candidates, 1, index[:, :, None, None].expand(-1, -1, *candidates.shape[2:]))
    return elites, elite_costs


def mean_std(samples: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (population) std of ``samples`` (B, K, H, A) over K, each (B, H, A).

    On a CPU (one thread, K = 8-30, H x A = 10) torch's fused ``std_mean`` is 2.5-3x cheaper than five
    elementwise and reduction ops at B = 1 (5-6 µs vs 15) and 2-2.5x dearer at B = 16-25 (its reduction
    over a strided axis is slow there), so the batch size picks the form. Five ops are also 1.7x cheaper at
    B = 16 than ``weighted_mean_std`` with uniform weights.
    """
    if samples.shape[0] == 1:
        std, mean = torch.std_mean(samples, dim=1, correction=0)
        return mean, std
    mean = samples.mean(dim=1)
    return mean, (samples - mean.unsqueeze(1)).square_().mean(dim=1).sqrt_()


def weighted_mean(weights: Tensor, samples: Tensor) -> Tensor:
    """Mean (B, H, A) of ``samples`` (B, K, H, A) under ``weights`` (B, K), each row summing to 1: one batched
    matmul over K."""
    return torch.bmm(weights.unsqueeze(1), samples.flatten(2)).view(samples.shape[0], *samples.shape[2:])


def weighted_mean_std(weights: Tensor, samples: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (population) std of ``samples`` (B, K, H, A) under ``weights`` (B, K), each row summing to 1.

    Two batched matmuls over K; on a CPU (one thread, K = 30, H x A = 10) 3.5x cheaper than ``std_mean``
    over K at B = 16, whose strided reduction is slow, and as cheap at B = 1.

    Returns:
        (mean, std), each (B, H, A).
    """
    mean = weighted_mean(weights, samples)  # (B, H, A)
    deviation = (samples - mean.unsqueeze(1)).square_()  # (B, K, H, A)
    return mean, weighted_mean(weights, deviation).sqrt_()


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


def colored_noise(shape: Sequence[int], beta: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """Gaussian noise with power spectral density ~ 1 / f^beta along the time axis, unit variance.

    White noise is filtered in the frequency domain: its rfft along time is scaled by f^(-beta/2)
    (the zero frequency takes the lowest frequency's scale, 1/H), transformed back, and divided by the
    filter's exact standard deviation, so every value has variance 1 whatever beta and H. beta = 0 is
    white noise; 2 is Brownian-like, smooth over time (iCEM's default).

    Args:
        shape: (..., H, A) the noise shape; time is axis -2.
        beta: spectrum exponent, >= 0.
        generator: seeded generator on ``device``.
        device: where the noise is drawn.

    Returns:
        (..., H, A) float32 noise.
    """
    *lead, horizon, action_dim = shape
    white = torch.randn((*lead, action_dim, horizon), generator=generator, device=device)  # time last for rfft
    scale, std = _spectral_filter(horizon, beta, device)
    colored = torch.fft.irfft(torch.fft.rfft(white) * scale, n=horizon)
    return (colored / std).transpose(-1, -2)


@functools.lru_cache(maxsize=16)
def _spectral_filter(horizon: int, beta: float, device: torch.device) -> tuple[Tensor, Tensor]:
    """The filter of ``colored_noise``: its rfft scale (H // 2 + 1,) and the standard deviation it gives white
    noise (a 0-d tensor). Computed once per (H, beta, device): every iCEM iteration draws with the same one."""
    freqs = torch.fft.rfftfreq(horizon, device=device).clamp_min(1.0 / horizon)  # (H // 2 + 1,)
    scale = freqs ** (-beta / 2)
    full_spectrum = torch.cat([scale, scale[1 : (horizon + 1) // 2]])  # each frequency of the H-point FFT once
    return scale, full_spectrum.square().mean().sqrt()


def shift_plan(actions: Tensor, steps: int) -> Tensor:
    """Drop the first ``steps`` executed actions of a plan and pad the tail with its last action.

    Repeating the last action (rather than the bounds' midpoint) keeps the warm start a plausible
    continuation of the plan, as in TD-MPC2's and pytorch_mppi's receding-horizon loops.

    Args:
        actions: (B, H, A) plans.
        steps: model steps executed, >= 0; ``steps >= H`` gives the last action repeated H times.

    Returns:
        (B, H, A) the shifted plans (a new tensor).
    """
    if actions.ndim != 3:
        raise ValueError(f"actions must have shape (B, H, A), got {tuple(actions.shape)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    horizon = actions.shape[1]
    kept = actions[:, min(steps, horizon) :]
    pad = actions[:, -1:].expand(-1, horizon - kept.shape[1], -1)
    return torch.cat([kept, pad], dim=1)
