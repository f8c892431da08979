"""Goal-image environments, registered with Gymnasium as ``worldplan/<Name>-v0`` on import.

Registration names entry points as strings, so importing this package loads neither MuJoCo nor
pygame; an env's simulator is imported when the env is first made.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from worldplan.envs.base import GoalEnv, GoalTask, validate_image_size
from worldplan.envs.checker import check_goal_env

_ENTRY_POINTS = {
    "worldplan/Wall-v0": "worldplan.envs.wall:WallEnv",
    "worldplan/PointMaze-v0": "worldplan.envs.pointmaze:PointMazeEnv",
    "worldplan/Reacher-v0": "worldplan.envs.reacher:ReacherEnv",
    "worldplan/PushT-v0": "worldplan.envs.pusht:PushTEnv",
}
ENV_IDS: tuple[str, ...] = tuple(_ENTRY_POINTS)

for _env_id, _entry_point in _ENTRY_POINTS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point=_entry_point)


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None, *, max_steps: int | None = None) -> gym.Env:
    """The one env factory: ``gym.make`` a registered ``GoalEnv`` with a Box action space of finite bounds.

    Every worldplan caller (collection, evaluation, the oracle, the CLI) makes its envs here, from the
    ``(id, kwargs)`` pair that datasets, checkpoints and results record; ``worldplan.byo.resolve_env`` turns
    an env config (shipped or bring-your-own) into that pair.

    Args:
        env_id: a registered id, or ``"module:id"`` to import ``module`` (which registers it) first.
        env_kwargs: keyword arguments of the env, e.g. ``{"image_size": 64}``.
        max_steps: overrides the registered episode step limit when given.

    Raises:
        ValueError: for an unknown id (listing the registered worldplan envs), a bad ``image_size``,
            or an env that is not a ``GoalEnv`` with bounded continuous actions.
    """
    env_kwargs = dict(env_kwargs or {})
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"env id {env_id!r}: cannot import module {module!r} ({err})") from err
    if name not in gym.registry:
        raise ValueError(f"unknown env id {name!r}; registered worldplan envs: {list(ENV_IDS)} "
                         f"(or give 'module:id' for an env that module registers)")
    if "image_size" in env_kwargs:
        validate_image_size(env_kwargs["image_size"])
    limit = {} if max_steps is None else {"max_episode_steps": max_steps}
    env = gym.make(name, **limit, **env_kwargs)
    if not isinstance(env.unwrapped, GoalEnv):
        env.close()
        raise ValueError(f"env {name!r} is a {type(env.unwrapped).__name__}, not a worldplan GoalEnv")
    space = env.action_space
    if not isinstance(space, gym.spaces.Box) or not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        env.close()
        raise ValueError(f"env {name!r} needs a Box action space with finite bounds, has {space}")
    return env


def make_goal_env(env_id: str, **kwargs: Any) -> GoalEnv:
    """``make_env`` of a shipped worldplan env, returning the ``GoalEnv`` itself (no Gymnasium wrappers).

    Raises:
        ValueError: ``env_id`` is not a worldplan env; the message lists the registered ones.
    """
    if env_id not in ENV_IDS:
        raise ValueError(f"unknown worldplan env {env_id!r}; registered: {', '.join(ENV_IDS)}")
    return make_env(env_id, kwargs).unwrapped


__all__ = ["ENV_IDS", "GoalEnv", "GoalTask", "check_goal_env", "make_env", "make_goal_env", "validate_image_size"]
