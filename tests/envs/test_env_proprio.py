"""Proprioception: every shipped env exposes its agent's own state; an env without one says so."""

from __future__ import annotations

import numpy as np
import pytest
from env_helpers import seeded_actions

from worldplan.envs import GoalEnv
from worldplan.envs.base import GoalEnv as BaseGoalEnv

# Which entries of each env's state are the agent's own (DINO-WM's proprio).
PROPRIO_ENTRIES = {
    "worldplan/Wall-v0": [0, 1],
    "worldplan/PointMaze-v0": [0, 1, 2, 3],
    "worldplan/Reacher-v0": [0, 1, 2, 3],
    "worldplan/PushT-v0": [0, 1, 5, 6],
}


def test_proprio_is_the_agents_part_of_the_state(env_id: str, env: GoalEnv) -> None:
    env.reset(seed=0)
    for action in seeded_actions(env, 3):
        state = env.step(action)[4]["state"]
        proprio = env.proprio(state)
        assert env.proprio_dim == len(PROPRIO_ENTRIES[env_id])
        assert proprio.shape == (env.proprio_dim,) and proprio.dtype == np.float32
        np.testing.assert_array_equal(proprio, state[PROPRIO_ENTRIES[env_id]])


def test_an_env_without_proprio_has_none() -> None:
    class NoProprio(BaseGoalEnv):
        get_state = set_state = state_distance = render = None  # not needed here

    env = NoProprio()
    assert env.proprio_dim == 0
    with pytest.raises(ValueError, match="NoProprio exposes no proprioception"):
        env.proprio(np.zeros(2, np.float32))
