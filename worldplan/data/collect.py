"""Collect an offline episode dataset from a goal env with a random or goal-directed policy.

Frames, actions and true states are stored for every env; the agent's proprioception
(``GoalEnv.proprio``) too for envs that expose one.

Episode ``i`` resets the env with ``episode_seed(seed, i)`` (recorded in ``meta.json``) and draws its
actions from a generator seeded from that seed alone, so any episode can be regenerated on its own,
and a collection that is killed and resumed ends identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig
from tqdm import tqdm

from worldplan.byo import resolve_env
from worldplan.config import save_config
from worldplan.data.episodes import META_FILE, DatasetMeta, Episode, EpisodeDataset, EpisodeWriter, read_meta
from worldplan.data.video import write_dataset_preview
from worldplan.envs import GoalEnv, make_env

POLICIES = ("random", "goal_directed")
# The policy's random stream is seeded with (episode seed, POLICY_STREAM): independent of the env's.
POLICY_STREAM = 1

log = logging.getLogger(__name__)

Policy = Callable[[np.random.Generator], np.ndarray]


def episode_seed(base_seed: int, index: int) -> int:
    """The reset seed of episode ``index``: a 32-bit hash of (base seed, index), independent of order."""
    if base_seed < 0 or index < 0:
        raise ValueError(f"seeds and episode indices must be >= 0, got seed={base_seed}, index={index}")
    return int(np.random.SeedSequence([base_seed, index]).generate_state(1)[0])


def make_policy(env: gym.Env, name: str, noise: float) -> Policy:
    """A policy ``rng -> (A_env,) float32`` action within the env's action bounds.

    ``"random"``: uniform in the bounds. ``"goal_directed"``: the env's ``goal_policy_action(rng)``
    plus Gaussian noise of std ``noise`` x half the action range, clipped to the bounds.
    """
    low = env.action_space.low.astype(np.float64)
    high = env.action_space.high.astype(np.float64)
    if name == "random":
        return lambda rng: rng.uniform(low, high).astype(np.float32)
    if name != "goal_directed":
        raise ValueError(f"unknown policy {name!r}; choose one of {list(POLICIES)}")
    if noise < 0:
        raise ValueError(f"policy noise must be >= 0, got {noise}")
    goal_env: GoalEnv = env.unwrapped
    scale = noise * (high - low) / 2

    def goal_directed(rng: np.random.Generator) -> np.ndarray:
        action = np.asarray(goal_env.goal_policy_action(rng), dtype=np.float64)
        return np.clip(action + scale * rng.standard_normal(action.shape), low, high).astype(np.float32)

    return goal_directed


def _probe(env: gym.Env, seed: int, image_size: int | None) -> tuple[int, int]:
    """Reset once and check the GoalEnv contract; returns (S, state_dim)."""
    obs, info = env.reset(seed=seed)
    obs = np.asarray(obs)
    if obs.ndim != 3 or obs.shape[0] != obs.shape[1] or obs.shape[2] != 3 or obs.dtype != np.uint8:
        raise ValueError(f"env observation must be (S, S, 3) uint8, got {obs.dtype} {obs.shape}")
    if image_size is not None and obs.shape[0] != image_size:
        raise ValueError(f"env kwarg image_size={image_size} but the env renders {obs.shape[0]} px frames")
    state = np.asarray(info.get("state")) if "state" in info else None
    if state is None or state.ndim != 1:
        raise ValueError("env reset must return info['state'], a (state_dim,) vector of the true state")
    return obs.shape[0], state.shape[0]


def run_episode(env: gym.Env, policy: Policy, *, seed: int, steps: int, image_size: int,
                state_dim: int, proprio: Callable[[np.ndarray], np.ndarray] | None = None) -> Episode:
    """Reset with ``seed`` and act ``steps`` times (fewer if the env terminates), into preallocated arrays.

    Args:
        proprio: maps a (state_dim,) state to its (proprio_dim,) proprioception; stored per frame when given.

    Returns:
        Episode with frames (T+1, S, S, 3) uint8, actions (T, A_env), states (T+1, state_dim) and, with
        ``proprio``, proprio (T+1, proprio_dim); T <= steps.
    """
    frames = np.empty((steps + 1, image_size, image_size, 3), np.uint8)
    actions = np.empty((steps, env.action_space.shape[0]), np.float32)
    states = np.empty((steps + 1, state_dim), np.float32)
    obs, info = env.reset(seed=seed)
    frames[0], states[0] = obs, info["state"]
    rng = np.random.default_rng([seed, POLICY_STREAM])
    length = steps
    for t in range(steps):
        actions[t] = policy(rng)
        obs, _, terminated, truncated, info = env.step(actions[t])
        frames[t + 1], states[t + 1] = obs, info["state"]
        if terminated or truncated:
            length = t + 1
            break
    states = states[: length + 1]
    return Episode(frames=frames[: length + 1], actions=actions[:length], states=states, seed=seed,
                   proprio=None if proprio is None else np.stack([proprio(state) for state in states]))


def collect(env_id: str, env_kwargs: dict[str, Any], out: str | Path, *, episodes: int, steps: int,
            policy: str, seed: int, noise: float, progress: bool = True) -> EpisodeDataset:
    """Collect (or resume collecting) ``episodes`` episodes of up to ``steps`` env steps into ``out``.

    Episodes already in ``out`` (same env and settings) are kept and skipped; a dataset collected
    without proprioception is resumed without it.

    Raises:
        ValueError: bad settings or env (see ``worldplan.envs.make_env``); ``DatasetError`` if ``out`` holds another
            dataset or unrelated files.
    """
    if episodes < 0 or steps < 1:
        raise ValueError(f"need episodes >= 0 and steps >= 1, got episodes={episodes}, steps={steps}")
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {list(POLICIES)}")
    try:
        env_kwargs = json.loads(json.dumps(dict(env_kwargs)))
    except TypeError as err:
        raise ValueError(f"env kwargs must be JSON values (they are recorded in meta.json): {err}") from err
    env = make_env(env_id, env_kwargs, max_steps=steps)
    try:
        act, goal_env = make_policy(env, policy, noise), env.unwrapped
        image_size, state_dim = _probe(env, episode_seed(seed, 0), env_kwargs.get("image_size"))
        meta = DatasetMeta(
            env_id=env_id, env_kwargs=env_kwargs, image_size=image_size,
            action_low=env.action_space.low.tolist(), action_high=env.action_space.high.tolist(),
            state_dim=state_dim, fps=float(env.metadata.get("render_fps", 0)), policy=policy,
            noise=float(noise) if policy == "goal_directed" else 0.0, max_steps=steps, base_seed=seed,
            proprio_dim=goal_env.proprio_dim)
        writer = EpisodeWriter(out, meta)
        proprio = goal_env.proprio if writer.meta.proprio_dim else None
        if len(writer) >= episodes:
            log.info("%s already holds %d episodes (asked %d): nothing to collect", out, len(writer), episodes)
        for index in tqdm(range(len(writer), episodes), initial=len(writer), total=episodes, unit="ep",
                          desc=f"collect {env_id}", disable=not progress):
            writer.add(run_episode(env, act, seed=episode_seed(seed, index), steps=steps,
                                   image_size=image_size, state_dim=state_dim, proprio=proprio))
    finally:
        env.close()
    return writer.dataset()


@dataclass(frozen=True)
class CollectResult:
    """What one ``collect_from_config`` call produced."""

    dataset: EpisodeDataset
    preview: Path | None
    new_episodes: int
    new_frames: int
    seconds: float


def collect_from_config(cfg: DictConfig, *, progress: bool = True) -> CollectResult:
    """Collect (or resume) the dataset ``cfg`` describes, save the config beside it, write its preview."""
    data = cfg.data
    out = Path(data.out)
    existing = read_meta(out) if (out / META_FILE).exists() else None
    episodes_before = len(existing.episodes) if existing else 0
    frames_before = existing.num_frames if existing else 0
    start = time.perf_counter()
    dataset = collect(*resolve_env(cfg.env), out,
                      episodes=data.episodes, steps=data.steps, policy=data.policy, seed=cfg.seed,
                      noise=data.noise, progress=progress)
    seconds = time.perf_counter() - start
    save_config(cfg, out)
    preview = write_dataset_preview(dataset, out / "preview.mp4", episodes=data.video_episodes)
    return CollectResult(dataset=dataset, preview=preview, new_episodes=len(dataset) - episodes_before,
                         new_frames=dataset.meta.num_frames - frames_before, seconds=seconds)

