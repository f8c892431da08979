"""Shared fixtures for env tests: one env per registered worldplan id, closed after its tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from worldplan.envs import ENV_IDS, GoalEnv, make_goal_env

IMAGE_SIZE = 32  # small frames keep the MuJoCo and pygame renders quick


@pytest.fixture(params=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def env(env_id: str) -> Iterator[GoalEnv]:
    goal_env = make_goal_env(env_id, image_size=IMAGE_SIZE)
    yield goal_env
    goal_env.close()


def seeded_actions(env: GoalEnv, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` uniform random actions inside the env's bounds, from ``seed``."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    return [rng.uniform(space.low, space.high).astype(np.float32) for _ in range(count)]
