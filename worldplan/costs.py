"""Latent goal costs: how far predicted patch features are from the goal image's features.

Axis legend: B episodes, N candidates, H horizon (model steps), P patches, D feature size,
A action size of one model step, Q proprioceptive state size.

``metric="l2"`` is the mean squared error over patches and features (DINO-WM's planning cost),
``metric="l1"`` the mean absolute error. ``steps="last"`` scores the last predicted step only;
``steps="all"`` a weighted mean over the H steps (default weights 1, 2, ..., H, normalised, so
late steps count most). Lower is better; the true goal latent has cost 0. A model with
proprioception may add ``proprio_weight`` x the same distance between its predicted proprioception and
the goal's, in its normalised units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from worldplan.planners.sampling import NonFiniteCostError

METRICS = ("l2", "l1")
STEP_MODES = ("last", "all")


class LatentRolloutModel(Protocol):
    """What a cost needs from a model: a batched latent rollout (the world model, or the oracle)."""

    def rollout(self, z_context: Tensor, actions: Tensor, *, last_only: bool = False) -> Tensor:
        """(B, T, P, D), (B, N, H, A) env units -> (B, N, H, P, D), or (B, N, 1, P, D) with ``last_only``."""
        ...


class ProprioRolloutModel(LatentRolloutModel, Protocol):
    """A model that takes and predicts proprioception (a ``WorldModel`` fine-tuned with it)."""

    def rollout_with_proprio(self, z_context: Tensor, actions: Tensor, *, proprio: Tensor,
                             last_only: bool = False) -> tuple[Tensor, Tensor]:
        """``rollout`` given the (B, Q) proprioception of the last context frame; also returns the (B, N, H, Q)
        (or (B, N, 1, Q)) predicted proprioception. Env units in and out."""
        ...

    def normalize_proprio(self, proprio: Tensor) -> Tensor:
        """(..., Q) env-unit proprioception -> the model's normalised units."""
        ...


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(choices)}")


def latent_distance(z: Tensor, z_goal: Tensor, *, metric: str = "l2") -> Tensor:
    """Mean distance over the last two axes (patches, features).

    Args:
        z: (..., P, D) latents.
        z_goal: (..., P, D), broadcastable against ``z``.
        metric: "l2" (mean squared error) or "l1" (mean absolute error).

    Returns:
        (...) the distance per leading index.
    """
    _check_choice("metric", metric, METRICS)
    diff = z.float() - z_goal.float()
    per_element = diff.square() if metric == "l2" else diff.abs()
    return per_element.mean(dim=(-2, -1))


def _step_weights(horizon: int, step_weights: Sequence[float] | Tensor | None, device: torch.device) -> Tensor:
    """(H,) non-negative weights summing to 1; default increasing 1..H."""
    if step_weights is None:
        weights = torch.arange(1, horizon + 1, dtype=torch.float32, device=device)
    else:
        weights = torch.as_tensor(step_weights, dtype=torch.float32, device=device).flatten()
        if weights.numel() != horizon:
            raise ValueError(f"step_weights has {weights.numel()} entries but the rollout has H={horizon} steps")
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("step_weights must be non-negative with a positive sum")
    return weights / weights.sum()


def latent_goal_cost(
    z_pred: Tensor,
    z_goal: Tensor,
    *,
    metric: str = "l2",
    steps: str = "last",
    step_weights: Sequence[float] | Tensor | None = None,
    proprio_pred: Tensor | None = None,
    proprio_goal: Tensor | None = None,
    proprio_weight: float = 1.0,
) -> Tensor:
    """Cost of each candidate's predicted latents against the goal latents.

    Args:
        z_pred: (B, N, H, P, D) predicted latents.
        z_goal: (B, P, D) goal latents.
        metric: "l2" (mean squared error) or "l1" (mean absolute error) over patches and features.
        steps: "last" scores step H only; "all" a weighted mean over the H steps.
        step_weights: (H,) weights for ``steps="all"`` (normalised); default increasing 1..H.
        proprio_pred: (B, N, H, Q) predicted proprioception, for models that predict it; scored with
            the same metric and step weighting and added with ``proprio_weight``.
        proprio_goal: (B, Q) goal proprioception; required with ``proprio_pred``.
        proprio_weight: weight of the proprioceptive term.

    Returns:
        (B, N) float32 costs, lower is better.
    """
    _check_choice("steps", steps, STEP_MODES)
    if z_pred.dim() != 5 or z_goal.dim() != 3 or z_pred.shape[-2:] != z_goal.shape[-2:]:
        raise ValueError(
            f"expected z_pred (B,N,H,P,D) and z_goal (B,P,D) with equal P, D; got {tuple(z_pred.shape)} "
            f"and {tuple(z_goal.shape)}"
        )
    per_step = latent_distance(z_pred, z_goal[:, None, None], metric=metric)  # (B, N, H)
    if (proprio_pred is None) != (proprio_goal is None):
        raise ValueError("proprio_pred and proprio_goal must be given together")
    if proprio_pred is not None:
        diff = proprio_pred.float() - proprio_goal.float()[:, None, None]
        per_step = per_step + proprio_weight * (diff.square() if metric == "l2" else diff.abs()).mean(-1)
    if steps == "last":
        return per_step[..., -1]
    return per_step @ _step_weights(per_step.shape[-1], step_weights, per_step.device)


class LatentGoalCost:
    """The planning cost of one plan: roll ``model`` out from a fixed context, score against the goal.

    Stricter than the planners' own check (which drops a few non-finite candidates): a model that
    returns NaN for in-bounds actions is broken, and an evaluation on it must stop. The non-finite
    costs are counted on the device and ``check`` reads the count once, after the plan, so the
    planner's loop never waits for the device.
    """

    def __init__(self, model: LatentRolloutModel, z_context: Tensor, z_goal: Tensor, *, differentiable: bool,
                 cost_kwargs: dict[str, object], proprio: Tensor | None = None,
                 proprio_goal: Tensor | None = None) -> None:
        self.model, self.z_context, self.z_goal = model, z_context, z_goal
        self.differentiable, self.cost_kwargs = differentiable, cost_kwargs
        self.proprio = proprio
        self.proprio_goal = None if proprio_goal is None else model.normalize_proprio(proprio_goal)
        self.last_only = cost_kwargs.get("steps", "last") == "last"  # the model keeps only what the cost reads
        self.non_finite = torch.zeros((), dtype=torch.long, device=z_context.device)
        self.scored = 0

    def __call__(self, actions: Tensor) -> Tensor:
        """(B, N, H, A) env-unit actions -> (B, N) costs on the actions' device."""
        with torch.set_grad_enabled(self.differentiable):
            z_pred, proprio_pred = self._rollout(actions.to(self.z_context.device))
            cost = latent_goal_cost(z_pred, self.z_goal, proprio_pred=proprio_pred, proprio_goal=self.proprio_goal,
                                    **self.cost_kwargs)
        self.non_finite += (~torch.isfinite(cost.detach())).sum()
        self.scored += cost.numel()
        return cost.to(actions.device)

    def _rollout(self, actions: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, N, H, A) -> predicted latents and, when the goal's proprioception is scored, the predicted
        proprioception in the model's normalised units."""
        if self.proprio is None:
            return self.model.rollout(self.z_context, actions, last_only=self.last_only), None
        z_pred, proprio_pred = self.model.rollout_with_proprio(self.z_context, actions, proprio=self.proprio,
                                                               last_only=self.last_only)
        return z_pred, None if self.proprio_goal is None else self.model.normalize_proprio(proprio_pred)

    def check(self) -> None:
        """Raise the planners' ``NonFiniteCostError`` if any cost so far was NaN or inf (one host read)."""
        bad = int(self.non_finite)
        if bad:
            raise NonFiniteCostError(
                f"{bad} of {self.scored} planning costs are NaN or infinite; the model's rollout "
                "diverged (check the checkpoint, its action normalisation and the action bounds)"
            )


def make_cost_fn(model: LatentRolloutModel, z_context: Tensor, z_goal: Tensor, *, differentiable: bool = False,
                 proprio: Tensor | None = None, proprio_goal: Tensor | None = None,
                 **cost_kwargs: object) -> LatentGoalCost:
    """A planner cost function that rolls ``model`` out from a fixed context and scores against the goal.

    The context and goal are encoded once per plan by the caller; every call of the returned function
    only runs the batched rollout. Call its ``check()`` after the plan: it raises ``NonFiniteCostError``
    if any cost was NaN or inf.

    Args:
        model: anything with ``rollout(z_context (B,T,P,D), actions (B,N,H,A)) -> (B,N,H,P,D)``.
        z_context: (B, T, P, D) latents of the last observed frames.
        z_goal: (B, P, D) goal latents.
        differentiable: keep the autograd graph from the actions to the costs (gradient planners);
            otherwise the rollout runs without one.
        proprio: (B, Q) env-unit proprioception of the last context frame, for a model that takes it
            (a ``ProprioRolloutModel``).
        proprio_goal: (B, Q) env-unit proprioception of the goal (with ``proprio``): the cost adds the
            distance of the predicted one to it, in the model's normalised units, weighted by
            ``proprio_weight``; None scores the latents only (e.g. a goal given as an image).
        **cost_kwargs: keyword arguments of ``latent_goal_cost`` (metric, steps, step_weights, proprio_weight).

    Returns:
        ``cost_fn(actions (B, N, H, A)) -> (B, N)`` on the actions' device (a ``LatentGoalCost``).
    """
    _check_choice("metric", str(cost_kwargs.get("metric", "l2")), METRICS)
    _check_choice("steps", str(cost_kwargs.get("steps", "last")), STEP_MODES)
    if proprio_goal is not None and proprio is None:
        raise ValueError("proprio_goal needs proprio, the proprioception the rollouts start from")
    return LatentGoalCost(model, z_context, z_goal, differentiable=differentiable, cost_kwargs=cost_kwargs,
                          proprio=proprio, proprio_goal=proprio_goal)
