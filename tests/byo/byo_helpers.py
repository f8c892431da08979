"""Helpers of the bring-your-own tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from user_envs import ref

from worldplan.byo import make_env
from worldplan.byo.adapter import AdaptedGoalEnv
from worldplan.data.episodes import EpisodeDataset


def adapted(name: str, **settings: Any) -> AdaptedGoalEnv:
    """The unwrapped adapter around ``user_envs.<name>`` (16 px frames unless ``image_size`` is given)."""
    settings.setdefault("image_size", 16)
    return make_env({"id": ref(name), **settings}).unwrapped


def assert_same_dataset(back: EpisodeDataset, original: EpisodeDataset) -> None:
    """``back`` has ``original``'s metadata and, episode by episode, its frames, actions and states."""
    assert back.meta.to_json() == original.meta.to_json()
    assert len(back) == len(original)
    for i in range(len(original)):
        for name in ("frames", "actions", "states"):
            np.testing.assert_array_equal(getattr(back[i], name), getattr(original[i], name))
