"""Goal-image environments, registered with Gymnasium as ``worldplan/<Name>-v0`` on import."""

from worldplan.envs.base import GoalEnv, GoalTask

__all__ = ["GoalEnv", "GoalTask"]
