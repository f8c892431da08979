"""Bring your own environment and data: any Gymnasium env as a goal env, dm_control by
name, Minari / LeRobot import and export (docs/tutorial-own-env.md).

Importing this package registers the adapter as ``worldplan-byo/Adapter-v0`` with Gymnasium.
"""

import gymnasium as gym

import worldplan.envs  # noqa: F401  (registers the shipped goal envs, which resolve_env recognises)
from worldplan.byo.factory import ADAPTER_ENV_ID, ADAPTER_GYM_ID, make_env, resolve_env

if ADAPTER_ENV_ID not in gym.registry:
    gym.register(id=ADAPTER_ENV_ID, entry_point="worldplan.byo.adapter:AdaptedGoalEnv")

__all__ = ["ADAPTER_ENV_ID", "ADAPTER_GYM_ID", "make_env", "resolve_env"]
