"""The parts every planner shares: bounds, sampling, scoring, elites, warm starts, errors.

Axis legend: B episodes planned at once, N candidates, H horizon (model steps), A action size of one
model step, K elites. Everything here is torch tensor code; nothing knows about models or envs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult


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
    ``best_seen.BestSeen.result`` counts them once per search.
    """
    costs = check_cost_shape(cost_fn(candidates), candidates)
    if costs.requires_grad or costs.dtype != torch.float32 or costs.device != candidates.device:
        costs = costs.detach().to(device=candidates.device, dtype=torch.float32)
    return torch.nan_to_num(costs, nan=math.inf, posinf=math.inf, neginf=math.inf)


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
