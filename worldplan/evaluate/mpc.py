"""The receding-horizon (MPC) loop: B goal envs step together, planning in latent space, replanning.

Axis legend: B episodes, B' episodes still running, N candidates, T context frames, H horizon (model
steps), P patches, D feature size, A action size of one model step (= frameskip x A_env), S image side.

Each plan covers H model steps; the loop executes ``replan_every`` of them (``frameskip`` env steps
each), then replans from the new observation with the previous plan shifted as warm start. Only the
episodes still running are planned (B' <= B), so finished episodes cost nothing. An episode ends at
the first executed env step where ``env.is_success(state, goal_state)`` holds, when the env reports
termination or truncation, or at ``max_env_steps``. The planner sees only the cost function; the
model sees only frames and actions, except a model that declares ``set_true_states`` (the oracle),
which is handed the true states of the running episodes before each plan, and a model with
proprioception (``proprio_dim`` > 0), which is given the agent's current proprioception
(``env.proprio`` of the true state, as the agent's own sensors would) and whose cost also scores the
goal's (when the goal state is known). Envs that judge success by
latent distance (``set_latent_goal``, worldplan.byo) are given their goal's latent distance. Context
frames are encoded afresh at each plan (T frames per episode; T is small), and plan time includes it.
With ``imagine``, after each plan the episodes that keep frames (the video ones) also record the
model's prediction for the plan's last step, for the imagined panel of their video
(``worldplan.evaluate.imagined``): one more rollout of one candidate, outside the planner and its cost.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from worldplan.costs import latent_distance, make_cost_fn
from worldplan.envs.base import GoalEnv, GoalTask
from worldplan.evaluate.episode import EpisodeResult, EpisodeTrace
from worldplan.planners.base import Planner
from worldplan.planners.sampling import shift_plan


class EvalModel(Protocol):
    """The world-model interface the loop uses (``WorldModel``, the oracle)."""

    def encode(self, frames: Tensor) -> Tensor:
        """(B, T, S, S, 3) uint8 -> (B, T, P, D)."""
        ...

    def rollout(self, z_context: Tensor, actions: Tensor, *, last_only: bool = False) -> Tensor:
        """(B, T, P, D), (B, N, H, A) env units -> (B, N, H, P, D), or (B, N, 1, P, D) with ``last_only``."""
        ...


@runtime_checkable
class TrueStateModel(Protocol):
    """A model that plans from the true simulator state (the oracle), told it before each plan."""

    def set_true_states(self, states: Sequence[np.ndarray]) -> None:
        """``states``: B' arrays (state_dim,), one per episode of the next ``rollout``."""
        ...


def _check_inputs(
    envs: Sequence[gym.Env],
    tasks: Sequence[GoalTask],
    planner: Planner,
    *,
    frameskip: int,
    replan_every: int,
    max_env_steps: int,
    context_frames: int,
) -> list[GoalEnv]:
    """Validate the loop's settings; return the unwrapped goal envs."""
    if not envs or len(envs) != len(tasks):
        raise ValueError(f"need one task per env and at least one env, got {len(envs)} envs, {len(tasks)} tasks")
    if frameskip < 1 or max_env_steps < 1 or context_frames < 1:
        raise ValueError(
            f"frameskip ({frameskip}), max_env_steps ({max_env_steps}) and context_frames ({context_frames}) "
            "must all be >= 1"
        )
    if not 1 <= replan_every <= planner.horizon:
        raise ValueError(f"replan_every must be in [1, planner horizon {planner.horizon}], got {replan_every}")
    bases = [env.unwrapped for env in envs]
    env_action_dim = int(np.prod(bases[0].action_space.shape))
    plan_action_dim = int(planner.action_low.numel())
    if plan_action_dim != frameskip * env_action_dim:
        raise ValueError(
            f"the planner's action size {plan_action_dim} != frameskip {frameskip} x env action size "
            f"{env_action_dim}; build the planner with the env bounds tiled frameskip times"
        )
    return bases


def _keep_flags(keep_frames: Sequence[bool] | None, count: int) -> list[bool]:
    """One keep-all-frames flag per episode (all True when None)."""
    flags = [True] * count if keep_frames is None else [bool(k) for k in keep_frames]
    if len(flags) != count:
        raise ValueError(f"keep_frames needs one flag per episode ({count}), got {len(flags)}")
    return flags


def _start(env: GoalEnv, task: GoalTask, *, keep_frames: bool) -> EpisodeTrace:
    """Put ``env`` at the task's start state and open its trace (keeping every frame or the latest)."""
    env.set_state(task.start_state)
    frame = np.asarray(env.render())
    if task.goal_image.shape != frame.shape:
        raise ValueError(
            f"goal image of episode seed {task.seed} has shape {task.goal_image.shape} but the env renders "
            f"{frame.shape}; sample goals with the same env image_size"
        )
    return EpisodeTrace(goal_state=task.goal_state, frames=[frame], stride_frames=[frame], state=env.get_state(),
                        keep_frames=keep_frames)


def _encode(model: EvalModel, frames: np.ndarray, device: torch.device) -> Tensor:
    """(B, T, S, S, 3) uint8 array -> (B, T, P, D) latents, without gradients."""
    with torch.no_grad():
        return model.encode(torch.from_numpy(np.ascontiguousarray(frames)).to(device))


def _frame_distance(model: EvalModel, z_goal: Tensor, metric: str, device: torch.device, frame: np.ndarray) -> float:
    """Latent distance of one (S, S, 3) uint8 frame to one goal's latents z_goal (P, D)."""
    z = _encode(model, frame[None, None], device)[:, 0]  # (1, P, D)
    return float(latent_distance(z, z_goal[None], metric=metric)[0])


def _attach_latent_goals(model: EvalModel, bases: list[GoalEnv], z_goal: Tensor, *, metric: str,
                         device: torch.device) -> None:
    """Envs that decide success by latent distance (``set_latent_goal``, worldplan.byo) get their goal's."""
    for b, env in enumerate(bases):
        if hasattr(env, "set_latent_goal"):
            env.set_latent_goal(functools.partial(_frame_distance, model, z_goal[b], metric, device))


def _proprio(model: EvalModel, bases: list[GoalEnv], episodes: list[int], states: Sequence[np.ndarray],
             device: torch.device) -> Tensor | None:
    """(B', Sp) proprioception of one true state per episode, for a model that takes it; None for other
    models, or when a state is unknown (NaN: the goal state of a goal given as an image)."""
    if not getattr(model, "proprio_dim", 0):
        return None
    values = np.stack([bases[i].proprio(state) for i, state in zip(episodes, states)])
    return torch.from_numpy(values).to(device) if np.isfinite(values).all() else None


def _plan(
    planner: Planner,
    model: EvalModel,
    bases: list[GoalEnv],
    traces: list[EpisodeTrace],
    active: list[int],
    *,
    z_goal: Tensor,
    warm_start: Tensor | None,
    context_frames: int,
    cost_kwargs: Mapping[str, Any],
    device: torch.device,
) -> Tensor:
    """Plan for the running episodes; record time, cost trace and evaluations. Returns (B', H, A)."""
    begin = time.perf_counter()
    z_context = _encode(model, np.stack([traces[i].context(context_frames) for i in active]), device)
    if isinstance(model, TrueStateModel):
        model.set_true_states([bases[i].get_state() for i in active])
    proprio = _proprio(model, bases, active, [traces[i].state for i in active], device)
    goal = None if proprio is None else _proprio(model, bases, active, [traces[i].goal_state for i in active], device)
    cost_fn = make_cost_fn(model, z_context, z_goal[active], differentiable=planner.needs_gradients,
                           proprio=proprio, proprio_goal=goal, **cost_kwargs)
    result = planner.plan(cost_fn, len(active), warm_start=warm_start)
    cost_fn.check()
    seconds = time.perf_counter() - begin
    trace_rows = result.cost_trace.detach().float().cpu().tolist()
    for row, i in enumerate(active):
        traces[i].plan_seconds.append(seconds)
        traces[i].cost_traces.append(trace_rows[row])
        traces[i].evaluations += result.evaluations
    return result.actions


def _imagine(
    model: EvalModel,
    bases: list[GoalEnv],
    traces: list[EpisodeTrace],
    active: list[int],
    actions: Tensor,
    *,
    context_frames: int,
    device: torch.device,
) -> None:
    """Record, for the running episodes that keep frames, the latents (P, D) their new plan ``actions``
    (B', H, A) predicts for its last step, and the env step it was made at."""
    rows = [row for row, i in enumerate(active) if traces[i].keep_frames]
    if not rows:
        return
    episodes = [active[row] for row in rows]
    z_context = _encode(model, np.stack([traces[i].context(context_frames) for i in episodes]), device)
    if isinstance(model, TrueStateModel):
        model.set_true_states([bases[i].get_state() for i in episodes])
    proprio = _proprio(model, bases, episodes, [traces[i].state for i in episodes], device)
    with torch.no_grad():
        z_last = model.rollout(z_context, actions.detach()[rows][:, None], last_only=True,
                               **({} if proprio is None else {"proprio": proprio}))[:, 0, -1]  # (b, P, D)
    for i, z in zip(episodes, z_last.float().cpu().numpy()):
        traces[i].imagined.append(z)
        traces[i].imagined_steps.append(traces[i].steps)


def _execute(
    bases: list[GoalEnv],
    traces: list[EpisodeTrace],
    active: list[int],
    actions: np.ndarray,
    *,
    frameskip: int,
    model_steps: int,
    max_env_steps: int,
) -> None:
    """Execute ``model_steps`` model steps of each running episode's plan ``actions`` (B', H, A)."""
    env_actions = actions.reshape(len(active), actions.shape[1], frameskip, -1)  # (B', H, frameskip, A_env)
    for k in range(model_steps):
        for j in range(frameskip):
            for row, i in enumerate(active):
                trace, env = traces[i], bases[i]
                if trace.done:
                    continue
                frame, _, terminated, truncated, info = env.step(env_actions[row, k, j].astype(env.action_space.dtype))
                state = np.asarray(info["state"])
                success = env.is_success(state, trace.goal_state)
                stop = terminated or truncated or trace.steps + 1 >= max_env_steps
                trace.record_step(np.asarray(frame), state, success=success, stop=stop)
        for i in active:
            if not traces[i].done:
                traces[i].stride_frames.append(traces[i].frames[-1])


def _finish(
    model: EvalModel,
    bases: list[GoalEnv],
    tasks: Sequence[GoalTask],
    traces: list[EpisodeTrace],
    *,
    z_goal: Tensor,
    metric: str,
    device: torch.device,
    first_index: int,
) -> list[EpisodeResult]:
    """Final distances (true state and latent, z_goal (B, P, D)) and the episodes' results."""
    z_final = _encode(model, np.stack([trace.frames[-1] for trace in traces])[:, None], device)[:, 0]  # (B, P, D)
    latent = latent_distance(z_final, z_goal, metric=metric).cpu().tolist()
    return [
        EpisodeResult(
            index=first_index + b,
            seed=task.seed,
            success=trace.success,
            steps=trace.steps,
            final_state_distance=float(env.state_distance(trace.state, task.goal_state)),
            final_latent_distance=float(latent[b]),
            plan_seconds=trace.plan_seconds,
            cost_traces=trace.cost_traces,
            evaluations=trace.evaluations,
            frames=np.stack(trace.frames) if trace.keep_frames else None,
            goal_image=task.goal_image,
            imagined=np.stack(trace.imagined) if trace.imagined else None,
            imagined_steps=tuple(trace.imagined_steps),
        )
        for b, (env, task, trace) in enumerate(zip(bases, tasks, traces))
    ]


def run_episodes(
    envs: Sequence[gym.Env],
    tasks: Sequence[GoalTask],
    planner: Planner,
    model: EvalModel,
    *,
    frameskip: int,
    max_env_steps: int,
    replan_every: int = 1,
    context_frames: int = 1,
    cost_kwargs: Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
    first_index: int = 0,
    keep_frames: Sequence[bool] | None = None,
    imagine: bool = False,
) -> list[EpisodeResult]:
    """Run one MPC episode per (env, task) pair, all B of them stepping together.

    Args:
        envs: B goal envs (one per episode; wrappers allowed), each able to ``set_state`` the task start.
        tasks: B goal tasks; their goal images must have the envs' observation shape (S, S, 3).
        planner: anything with ``plan``, ``horizon`` and ``action_low`` (A,), A = frameskip x A_env.
        model: ``encode`` and ``rollout`` as in ``EvalModel``, on ``device``.
        frameskip: env steps per model step.
        max_env_steps: step budget per episode.
        replan_every: model steps executed per plan, in [1, H].
        context_frames: T, frames at model-step stride given to the model (fewer at the start).
        cost_kwargs: keyword arguments of ``latent_goal_cost`` (metric, steps, step_weights).
        device: where frames are sent for encoding.
        first_index: the ``index`` recorded for the first episode (episodes run in chunks).
        keep_frames: B flags, whether each episode's result keeps all its frames (for a video) or
            none (``frames`` None, memory bounded by B frames); None keeps every episode's.
        imagine: the episodes that keep frames also keep each plan's predicted last-step latents
            (``EpisodeResult.imagined``), for the imagined panel of their video.

    Returns:
        B ``EpisodeResult``s in the order of ``envs``.
    """
    bases = _check_inputs(
        envs,
        tasks,
        planner,
        frameskip=frameskip,
        replan_every=replan_every,
        max_env_steps=max_env_steps,
        context_frames=context_frames,
    )
    cost_kwargs = dict(cost_kwargs or {})
    device = torch.device(device)
    keep = _keep_flags(keep_frames, len(tasks))
    traces = [_start(env, task, keep_frames=k) for env, task, k in zip(bases, tasks, keep)]
    z_goal = _encode(model, np.stack([task.goal_image for task in tasks])[:, None], device)[:, 0]  # (B, P, D)
    metric = str(cost_kwargs.get("metric", "l2"))
    _attach_latent_goals(model, bases, z_goal, metric=metric, device=device)
    plans: Tensor | None = None  # (B, H, A), the latest plan of every episode
    while active := [i for i, trace in enumerate(traces) if not trace.done]:
        warm = None if plans is None else shift_plan(plans[active], replan_every)
        actions = _plan(
            planner,
            model,
            bases,
            traces,
            active,
            z_goal=z_goal,
            warm_start=warm,
            context_frames=context_frames,
            cost_kwargs=cost_kwargs,
            device=device,
        )
        plans = actions.new_zeros((len(traces), *actions.shape[1:])) if plans is None else plans
        plans[active] = actions
        if imagine:
            _imagine(model, bases, traces, active, actions, context_frames=context_frames, device=device)
        _execute(
            bases,
            traces,
            active,
            actions.detach().float().cpu().numpy(),
            frameskip=frameskip,
            model_steps=replan_every,
            max_env_steps=max_env_steps,
        )
    return _finish(model, bases, tasks, traces, z_goal=z_goal, metric=metric, device=device, first_index=first_index)
