"""Goal-image environments, registered with Gymnasium as ``worldplan/<Name>-v0`` on import.

Registration names entry points as strings, so importing this package loads neither MuJoCo nor
pygame; an env's simulator is imported when the env is first made.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from worldplan.envs.base import GoalEnv, GoalTask, validate_image_size

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


def make_goal_env(env_id: str, **kwargs: Any) -> GoalEnv:
    """Build a registered worldplan env and return the ``GoalEnv`` itself (no Gymnasium wrappers).

    Raises:
        ValueError: ``env_id`` is not a worldplan env; the message lists the registered ones.
    """
    if env_id not in ENV_IDS:
        raise ValueError(f"unknown worldplan env {env_id!r}; registered: {', '.join(ENV_IDS)}")
    return gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped


__all__ = ["ENV_IDS", "GoalEnv", "GoalTask", "make_goal_env", "validate_image_size"]
