"""Shared fixtures for env tests: one env per registered worldplan id, closed after its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from env_helpers import IMAGE_SIZE

from worldplan.envs import ENV_IDS, GoalEnv, make_goal_env


@pytest.fixture(params=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def env(env_id: str) -> Iterator[GoalEnv]:
    goal_env = make_goal_env(env_id, image_size=IMAGE_SIZE)
    yield goal_env
    goal_env.close()
