"""Helpers shared by the env tests (a uniquely named module: every test directory has a conftest)."""

from __future__ import annotations

import numpy as np

from worldplan.envs import GoalEnv

IMAGE_SIZE = 32  # small frames keep the MuJoCo and pygame renders quick


def seeded_actions(env: GoalEnv, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` uniform random actions inside the env's bounds, from ``seed``."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    return [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(count)]
