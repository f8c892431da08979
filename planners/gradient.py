"""Gradient planning: descend a differentiable cost in the action sequences, from several restarts.

Axis legend: B episodes planned at once, R restarts per episode (the N axis of the cost function),
H horizon (model steps), A action size of one model step.

The actions are optimised in units of half the action range around its midpoint (u in [-1, 1],
actions = mid + half x u), so ``lr`` means the same for any bounds: Adam moves each action by about
``lr`` half-ranges per step. After each step u is clamped to [-1, 1] (projection onto the bounds).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from worldplan.planners.base import CostFn, PlanResult
from worldplan.planners.best_seen import BestSeen
from worldplan.planners.sampling import (
    NonFiniteGradientError,
    as_bounds,
    check_cost_shape,
    initial_mean,
)

OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


class GradientPlanner:
    """Adam (or SGD) on R action sequences per episode through ``cost_fn``; returns the best seen.

    Restart 0 starts from the warm start (the bounds' midpoint without one), the others uniformly in
    the bounds. Each step scores all B x R sequences in one differentiable call and back-propagates
    the sum of the costs (each restart's cost depends on its own actions only). A last call without
    gradients scores the final sequences. The plan is the lowest-cost sequence seen over all calls:
    the best restart by final cost when the descent only improves, never worse than the warm start.

    Args:
        horizon: H, model steps per sequence.
        action_low, action_high: (A,) bounds of one model-step action.
        restarts: R parallel descents per episode.
        steps: gradient steps per plan.
        lr: learning rate, in half action ranges (see the module docstring), > 0.
        optimizer: "adam" or "sgd".
        seed: seed of the ``torch.Generator`` that draws the random restarts.
        device: where the actions live and costs are expected.
    """

    needs_gradients = True

    def __init__(
        self,
        *,
        horizon: int,
        action_low: Tensor | Sequence[float],
        action_high: Tensor | Sequence[float],
        restarts: int = 8,
        steps: int = 50,
        lr: float = 0.1,
        optimizer: str = "adam",
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        checks = [
            (horizon >= 1, f"horizon must be >= 1, got {horizon}"),
            (restarts >= 1, f"restarts must be >= 1, got {restarts}"),
            (steps >= 1, f"steps must be >= 1, got {steps}"),
            (lr > 0, f"lr must be > 0, got {lr}"),
            (optimizer in OPTIMIZERS, f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.horizon = horizon
        self.num_samples = restarts
        self.iterations = steps
        self.lr = lr
        self.optimizer = optimizer
        self.device = torch.device(device)
        self.action_low, self.action_high = as_bounds(action_low, action_high, self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    @property
    def evaluations_per_plan(self) -> int:
        """(2 x steps + 1) x restarts: forward and backward per step, then the final forward."""
        return gradient_evaluations(self.num_samples, self.iterations)

    def plan(self, cost_fn: CostFn, batch_size: int, warm_start: Tensor | None = None) -> PlanResult:
        """Descend from the warm start and R - 1 uniform random restarts per episode.

        Args:
            cost_fn: (B, R, H, A) -> (B, R), differentiable in the actions.
            batch_size: B.
            warm_start: (B, H, A) restart 0 (clamped to the bounds), or None for the bounds' midpoint.

        Returns:
            PlanResult with actions (B, H, A), cost_trace (B, steps + 1) the best cost of the starts
            and after each step, evaluations = ``evaluations_per_plan``.
        """
        start = initial_mean(warm_start, batch_size, self.horizon, self.action_low, self.action_high)
        shape = (batch_size, self.num_samples - 1, *start.shape[1:])
        unit = torch.rand(shape, generator=self.generator, device=self.device)
        uniform = self.action_low + unit * (self.action_high - self.action_low)  # (B, R - 1, H, A)
        return self.refine(cost_fn, torch.cat([start.unsqueeze(1), uniform], dim=1))

    @torch.enable_grad()
    def refine(self, cost_fn: CostFn, starts: Tensor) -> PlanResult:
        """Run ``steps`` gradient steps from ``starts`` (B, R, H, A) inside the bounds, any R >= 1.

        Returns:
            PlanResult with the best sequence seen (B, H, A), cost_trace (B, steps + 1) and
            evaluations (2 x steps + 1) x R.
        """
        mid, half = (self.action_high + self.action_low) / 2, (self.action_high - self.action_low) / 2
        unit = ((starts.detach().float() - mid) / half).clamp(-1, 1).requires_grad_(True)  # (B, R, H, A)
        optimizer = OPTIMIZERS[self.optimizer]([unit], lr=self.lr)
        seen, failures = BestSeen(keep=1), _Failures(starts.shape[0], unit.device)
        for step in range(self.iterations + 1):
            descend = step < self.iterations  # the last call only scores the final sequences
            with torch.set_grad_enabled(descend):
                actions = mid + half * unit
                costs = _differentiable_costs(cost_fn, actions) if descend else check_cost_shape(
                    cost_fn(actions), actions)  # (B, R)
            failures.note(costs.detach(), event=2 * step)
            seen.add(actions.detach(), costs.detach().float())
            if descend:
                failures.note(_step(optimizer, unit, costs), event=2 * step + 1)
        failures.check()
        best, _, trace = seen.result()
        actions = best[:, 0].clamp(self.action_low, self.action_high)  # mid + half x u may round past a bound
        evaluations = gradient_evaluations(starts.shape[1], self.iterations)
        return PlanResult(actions=actions, cost_trace=trace, evaluations=evaluations)


def gradient_evaluations(restarts: int, steps: int) -> int:
    """Evaluations of ``steps`` gradient steps on ``restarts`` sequences: 2 per sequence and step, 1 to finish."""
    return (2 * steps + 1) * restarts


class _Failures:
    """The first non-finite cost or gradient of each episode, noted on the device and read once by
    ``check`` after the descent (no host read inside the loop). A descent that met one raises rather
    than return a NaN plan; the message names what went bad first: costs, or gradients (e.g. a sqrt
    or norm at 0, or a diverging rollout)."""

    NONE = 2**62

    def __init__(self, batch_size: int, device: torch.device) -> None:
        self.first = torch.full((batch_size,), self.NONE, dtype=torch.long, device=device)  # (B,) event index

    def note(self, values: Tensor, *, event: int) -> None:
        """Record ``event`` (even: a cost call, odd: a gradient) for episodes with a non-finite value in (B, ...)."""
        bad = ~torch.isfinite(values).flatten(1).all(dim=1)  # (B,)
        self.first = torch.minimum(self.first, torch.where(bad, event, self.NONE))

    def check(self) -> None:
        first = self.first.tolist()
        if min(first) == self.NONE:
            return
        kind = min(first) % 2
        episodes = [b for b, event in enumerate(first) if event != self.NONE and event % 2 == kind]
        if kind == 0:
            raise NonFiniteGradientError(
                f"cost_fn returned NaN or inf costs for episodes {episodes}; gradient planning needs finite costs"
            )
        raise NonFiniteGradientError(
            f"the gradient of cost_fn is NaN or inf for episodes {episodes} (e.g. a sqrt or norm at 0, or a "
            "diverging rollout); the gradient planner stops rather than return a NaN plan"
        )


def _differentiable_costs(cost_fn: CostFn, actions: Tensor) -> Tensor:
    """``cost_fn(actions)`` (B, R), checked for shape and for a gradient."""
    costs = check_cost_shape(cost_fn(actions), actions)
    if costs.grad_fn is None:
        raise ValueError(
            "cost_fn is not differentiable: its costs have no grad_fn, so the gradient planner cannot descend "
            "them; the world model's cost needs make_cost_fn(..., differentiable=True)"
        )
    return costs


def _step(optimizer: torch.optim.Optimizer, unit: Tensor, costs: Tensor) -> Tensor:
    """One optimizer step on ``unit`` (B, R, H, A) down the gradient of ``costs`` (B, R), then the
    projection; returns the gradient (B, R, H, A) (its finiteness is checked after the descent)."""
    (grad,) = torch.autograd.grad(costs.sum(), unit, allow_unused=True)  # model parameters get no gradient
    if grad is None:
        raise ValueError("cost_fn is not differentiable in the actions: its costs do not depend on them")
    unit.grad = grad
    optimizer.step()
    with torch.no_grad():
        unit.clamp_(-1, 1)
    return grad
