"""Run a whole evaluation: seeded goal tasks, episodes in batches through the MPC loop, saved outputs.

Axis legend: B episodes run together (``batch_size``), S image side.

Episode ``i`` samples its goal task with ``eval_episode_seed(seed, i)``, a stream separate from the
data-collection seeds (``worldplan.data.collect.episode_seed``), so evaluation goals never replay
training episodes. Outputs under ``out_dir``: ``episodes.jsonl``, ``summary.json`` (summary and full
protocol), ``videos/ep<i>_seed<s>_{success,fail}.mp4`` and ``cost_per_iteration.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from worldplan.envs import make_env
from worldplan.envs.base import GoalEnv, GoalTask
from worldplan.evaluate.episode import EpisodeResult
from worldplan.evaluate.goals import sample_goal_task
from worldplan.evaluate.imagined import ImaginedSource
from worldplan.evaluate.metrics import summarize, write_episodes_jsonl, write_summary
from worldplan.evaluate.mpc import EvalModel, run_episodes
from worldplan.evaluate.report import plot_cost_traces, write_episode_videos
from worldplan.planners.base import Planner

logger = logging.getLogger(__name__)

EVAL_STREAM = 0x65_76_61_6C  # "eval": keeps evaluation seeds apart from collection seeds
MAX_GOAL_ATTEMPTS = 20  # goal tasks tried per episode before giving up on one unsolved at its start
SUMMARY_FILE, VIDEOS_DIR = "summary.json", "videos"  # in an evaluation's output directory


def eval_episode_seed(base_seed: int, index: int) -> int:
    """The goal-task seed of evaluation episode ``index``: a 32-bit hash of (base seed, stream, index)."""
    if base_seed < 0 or index < 0:
        raise ValueError(f"seeds and episode indices must be >= 0, got seed={base_seed}, index={index}")
    return int(np.random.SeedSequence([base_seed, EVAL_STREAM, index]).generate_state(1)[0])


def sample_tasks(envs: Sequence[gym.Env], seeds: Sequence[int], *, goal_source: str, offset: int,
                 goal_params: Mapping[str, Any] | None = None) -> list[GoalTask]:
    """One goal task per env, each left at its start state.

    Args:
        envs: goal envs (wrappers allowed), one per seed.
        seeds: the episodes' seeds.
        goal_source: one of ``worldplan.evaluate.goals.GOAL_SOURCES``; "random_walk": the env's ``sample_goal_task``
            (its goal policy for ``offset`` steps).
        offset: env steps between start and goal.
        goal_params: the goal source's parameters (``cfg.goal``).
    """
    return [_unsolved_task(env.unwrapped, int(seed), int(offset), source=goal_source, params=goal_params)
            for env, seed in zip(envs, seeds)]


def _unsolved_task(env: GoalEnv, seed: int, offset: int, **source: Any) -> GoalTask:
    """A goal task whose start does not already satisfy the goal: such tasks are resampled.

    Attempt k > 0 uses a seed derived from (seed, k), recorded in the task. Envs that judge success
    by latent distance (known only once the loop encodes the goal) are not checked.
    """
    for attempt in range(MAX_GOAL_ATTEMPTS):
        task_seed = seed if attempt == 0 else int(np.random.SeedSequence([seed, attempt]).generate_state(1)[0])
        task = sample_goal_task(env, task_seed, offset, **source)
        if getattr(env, "success_source", "env") == "latent_threshold" or not env.is_success(
                task.start_state, task.goal_state):
            return task
    raise ValueError(f"{MAX_GOAL_ATTEMPTS} goal tasks sampled from seed {seed} were all solved at their start; "
                     "raise eval.goal_offset")


def evaluate_episodes(
    *,
    env_id: str,
    env_kwargs: Mapping[str, Any],
    seeds: Sequence[int],
    goal_source: str,
    goal_offset: int,
    planner: Planner,
    model: EvalModel,
    batch_size: int,
    loop_kwargs: Mapping[str, Any],
    video_episodes: int,
    device: str | torch.device = "cpu",
    goal_params: Mapping[str, Any] | None = None,
) -> list[EpisodeResult]:
    """Run one episode per seed, ``batch_size`` at a time, through ``run_episodes``.

    Args:
        env_id, env_kwargs: how each episode's env is made (``worldplan.envs.make_env``).
        seeds: one goal-task seed per episode.
        goal_source, goal_offset, goal_params: see ``sample_tasks``.
        planner, model: as in ``run_episodes``.
        batch_size: B, episodes stepped and planned together (B envs are made once and reused).
        loop_kwargs: the keyword settings of ``run_episodes`` (frameskip, max_env_steps, replan_every,
            context_frames, cost_kwargs, imagine).
        video_episodes: the first episodes whose results keep their frames (the ones ``save_evaluation``
            writes videos of); the others keep none (``frames`` None).
        device: where frames are encoded.

    Returns:
        One ``EpisodeResult`` per seed, in order.
    """
    if batch_size < 1 or not seeds:
        raise ValueError(f"need batch_size >= 1 and at least one episode, got {batch_size} and {len(seeds)}")
    envs = [make_env(env_id, env_kwargs) for _ in range(min(batch_size, len(seeds)))]
    results: list[EpisodeResult] = []
    try:
        for first in range(0, len(seeds), batch_size):
            chunk = list(seeds[first : first + batch_size])
            tasks = sample_tasks(envs, chunk, goal_source=goal_source, offset=goal_offset, goal_params=goal_params)
            keep = [first + b < video_episodes for b in range(len(chunk))]
            results += run_episodes(envs[: len(chunk)], tasks, planner, model, **loop_kwargs, device=device,
                                    first_index=first, keep_frames=keep)
            done = sum(r.success for r in results)
            logger.info("episodes %d/%d done, %d successes", len(results), len(seeds), done)
    finally:
        for env in envs:
            env.close()
    return results


def save_evaluation(
    out_dir: str | Path,
    results: Sequence[EpisodeResult],
    protocol: Mapping[str, Any],
    *,
    video_episodes: int,
    fps: float,
    title: str,
    imagined: ImaginedSource | None = None,
) -> dict[str, Any]:
    """Write episodes.jsonl, summary.json (with ``protocol``), videos (with an imagined panel from ``imagined``)
    and the cost plot; return the summary."""
    out_dir = Path(out_dir)
    summary = summarize(results)
    write_episodes_jsonl(out_dir / "episodes.jsonl", results)
    write_summary(out_dir / SUMMARY_FILE, summary, protocol)
    write_episode_videos(out_dir / VIDEOS_DIR, results, count=video_episodes, fps=fps, metadata=dict(protocol),
                         imagined=imagined)
    plot_cost_traces(out_dir / "cost_per_iteration.png", results, title=title)
    return summary
