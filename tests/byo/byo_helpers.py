"""Helpers of the bring-your-own tests."""

from __future__ import annotations

from typing import Any

from user_envs import ref

from worldplan.byo import make_env
from worldplan.byo.adapter import AdaptedGoalEnv


def adapted(name: str, **settings: Any) -> AdaptedGoalEnv:
    """The unwrapped adapter around ``user_envs.<name>`` (16 px frames unless ``image_size`` is given)."""
    settings.setdefault("image_size", 16)
    return make_env({"id": ref(name), **settings}).unwrapped
