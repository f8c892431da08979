"""Goal sources: where an evaluation episode's start, goal state and goal image come from.

``eval.goal_source`` picks one, ``cfg.goal`` holds its parameters (``configs/goal/default.yaml``):

| source | start | goal | needs |
|---|---|---|---|
| ``random_walk`` | ``reset(seed)`` | the env's own ``sample_goal_task``: its goal policy for ``offset`` steps | - |
| ``policy`` | ``reset(seed)`` | ``offset`` steps of ``goal.policy`` (``module:function(rng, state) -> action``) | - |
| ``image`` | ``reset(seed)`` | the image file ``goal.image``; no goal state (NaN) | latent-threshold success |
| ``state`` | ``reset(seed)`` | ``goal.state`` rendered with ``render_state`` | state protocol |
| ``dataset`` | state ``step - offset`` | frame and state ``goal.step`` of episode ``goal.episode`` | state protocol |

(``goal.episode`` and ``goal.step`` are drawn from the episode's seed when null.) A goal image of
another size or aspect than the env's frames is resized (stretched) to them with a warning naming
both sizes (``worldplan.byo.images.load_image``).

Walked goals (``GoalEnv.walk_goal_task``) work without the state protocol: an adapted env is reset with the
same seed again to return to the start, which is checked to reproduce the same start state.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from worldplan.byo.callables import load_callable
from worldplan.byo.images import load_image
from worldplan.byo.inner import LATENT_THRESHOLD, STATE_PROTOCOL_HELP, StateNotSettableError
from worldplan.data.episodes import EpisodeDataset
from worldplan.envs.base import GoalEnv, GoalTask

GOAL_SOURCES = ("random_walk", "policy", "image", "state", "dataset")
DATASET_STREAM = 0x676F616C  # "goal": draws of dataset goals, apart from the env's own random stream
# source -> (the goal.* parameter it needs, an example value)
REQUIRED_PARAMS = {"policy": ("policy", "my_module:policy"), "image": ("image", "goal.png"),
                   "state": ("state", "[0.0,1.0]"), "dataset": ("dataset", "runs/my_env/data/val")}
PATH_PARAMS = ("image", "dataset")  # parameters that name a file or directory


def _image_side(env: GoalEnv) -> int:
    return int(env.observation_space.shape[0])


def supported_goal_sources(env: GoalEnv) -> list[str]:
    """The goal sources an (unwrapped) goal env can use."""
    settable = getattr(env, "can_set_state", True)
    latent = getattr(env, "success_source", "env") == LATENT_THRESHOLD
    needs = {"state": settable, "dataset": settable, "image": latent}
    return [source for source in GOAL_SOURCES if needs.get(source, True)]


def check_goal_source(source: str, offset: int, params: Mapping[str, Any]) -> None:
    """Check a goal source's settings without an env: known source, ``offset`` >= 1, its parameter given
    (and, for a file, present).

    Raises:
        ValueError: naming the setting and how to fix it.
    """
    if source not in GOAL_SOURCES:
        raise ValueError(f"eval.goal_source={source!r} is not one of {', '.join(GOAL_SOURCES)}")
    if offset < 1:
        raise ValueError(f"eval.goal_offset must be >= 1 env step, got {offset}")
    if source not in REQUIRED_PARAMS:
        return
    key, example = REQUIRED_PARAMS[source]
    value = params.get(key)
    if value is None:
        raise ValueError(f"goal source {source!r} needs goal.{key}: e.g. goal.{key}={example}")
    if key in PATH_PARAMS and not Path(value).exists():
        raise ValueError(f"goal.{key}={value}: no such file or directory (looked for {Path(value).resolve()})")


def _require_settable(env: GoalEnv, source: str) -> None:
    if not getattr(env, "can_set_state", True):
        raise StateNotSettableError(f"goal source {source!r} puts the env in given states, but "
                                    f"{getattr(env, 'name', type(env).__name__)!r} cannot be set to a state: "
                                    f"{STATE_PROTOCOL_HELP}; or use goal source random_walk, policy or image")


def _policy_goal(env: GoalEnv, seed: int, offset: int, params: Mapping[str, Any]) -> GoalTask:
    policy = load_callable(params["policy"], what="goal policy")
    return env.walk_goal_task(seed, offset, lambda rng: policy(rng, env.get_state()))


def _image_goal(env: GoalEnv, seed: int, offset: int, params: Mapping[str, Any]) -> GoalTask:
    if getattr(env, "success_source", "env") != LATENT_THRESHOLD:
        raise ValueError("goal source 'image' gives no goal state, but this env decides success from the true "
                         "state; use an env adapted with latent-threshold success (no env.success) or a goal "
                         f"source with a goal state ({', '.join(s for s in GOAL_SOURCES if s != 'image')})")
    image = load_image(params["image"], _image_side(env))
    _, info = env.reset(seed=seed)
    start = np.asarray(info["state"]).copy()
    env.set_goal(None)
    return GoalTask(start_state=start, goal_state=np.full_like(start, np.nan), goal_image=image, seed=seed,
                    offset=offset)


def _state_goal(env: GoalEnv, seed: int, offset: int, params: Mapping[str, Any]) -> GoalTask:
    goal = np.asarray(params["state"], dtype=np.float32)
    _require_settable(env, "state")
    _, info = env.reset(seed=seed)
    start = np.asarray(info["state"]).copy()
    if goal.shape != start.shape or not np.all(np.isfinite(goal)):
        raise ValueError(f"goal.state must be {start.shape[0]} finite numbers (the env's state), got {goal.tolist()}")
    goal_image = env.render_state(goal)
    env.set_goal(goal)
    return GoalTask(start_state=start, goal_state=goal, goal_image=goal_image, seed=seed, offset=offset)


@functools.lru_cache(maxsize=4)
def _open_dataset(path: str) -> EpisodeDataset:
    return EpisodeDataset.open(path)


def _dataset_frame(dataset: EpisodeDataset, seed: int, offset: int, params: Mapping[str, Any]) -> tuple[int, int]:
    """(episode, step) from ``goal.episode``/``goal.step``, each drawn from the seed when null."""
    rng = np.random.default_rng([seed, DATASET_STREAM])
    eligible = [i for i, length in enumerate(dataset.lengths) if length >= offset]
    episode = params.get("episode")
    if episode is None:
        if not eligible:
            raise ValueError(f"dataset {dataset.path} has no episode of at least goal_offset={offset} steps")
        episode = eligible[int(rng.integers(len(eligible)))]
    if not 0 <= int(episode) < len(dataset):
        raise ValueError(f"goal.episode={episode} but dataset {dataset.path} holds {len(dataset)} episodes")
    length = dataset.lengths[int(episode)]
    step = params.get("step")
    step = int(rng.integers(offset, length + 1)) if step is None else int(step)
    if not offset <= step <= length:
        raise ValueError(f"goal.step={step} must lie in [goal_offset={offset}, {length}] (episode {episode} has "
                         f"{length} steps; the start is step - goal_offset)")
    return int(episode), step


def _dataset_goal(env: GoalEnv, seed: int, offset: int, params: Mapping[str, Any]) -> GoalTask:
    dataset = _open_dataset(str(params["dataset"]))
    _require_settable(env, "dataset")
    episode_index, step = _dataset_frame(dataset, seed, offset, params)
    episode = dataset[episode_index]
    _, info = env.reset(seed=seed)
    if episode.frames.shape[1] != _image_side(env) or episode.states.shape[1] != np.asarray(info["state"]).size:
        raise ValueError(f"dataset {dataset.path} has {episode.frames.shape[1]} px frames and {episode.states.shape[1]}"
                         f"-d states; the env renders {_image_side(env)} px and has {np.asarray(info['state']).size}"
                         f"-d states: use a dataset of this env")
    start, goal = np.array(episode.states[step - offset]), np.array(episode.states[step])
    env.set_state(start)
    env.set_goal(goal)
    return GoalTask(start_state=start, goal_state=goal, goal_image=np.array(episode.frames[step]), seed=seed,
                    offset=offset)


_SOURCES = {"policy": _policy_goal, "image": _image_goal, "state": _state_goal, "dataset": _dataset_goal}


def sample_goal_task(env: GoalEnv, seed: int, offset: int, *, source: str = "random_walk",
                     params: Mapping[str, Any] | None = None) -> GoalTask:
    """One goal task from ``source`` (see the module table), the env left at its start state.

    Args:
        env: an unwrapped goal env.
        seed: the episode's seed.
        offset: env steps between start and goal (walked sources and ``dataset``).
        source: one of ``GOAL_SOURCES``.
        params: the source's parameters (``cfg.goal``).

    Raises:
        ValueError: unknown source, missing or bad parameters; ``StateNotSettableError`` when the source
            needs to set the env's state and the env cannot.
    """
    params = dict(params or {})
    check_goal_source(source, offset, params)
    if source == "random_walk":
        return env.sample_goal_task(seed, offset)
    return _SOURCES[source](env, seed, offset, params)
