"""PushT: DINO-WM's success test on the block pose; the goal policy moves the block."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from worldplan.envs.pusht import PushTEnv


@pytest.fixture(scope="module")
def pusht() -> Iterator[PushTEnv]:
    env = PushTEnv(image_size=16)
    yield env
    env.close()


def pose(block_x: float, block_y: float, angle: float, agent_x: float = 100.0) -> np.ndarray:
    return np.array([agent_x, 100.0, block_x, block_y, angle, 0.0, 0.0], dtype=np.float32)


def test_success_needs_position_within_20_px(pusht: PushTEnv) -> None:
    goal = pose(200.0, 200.0, 1.0)
    assert pusht.is_success(pose(219.0, 200.0, 1.0), goal)
    assert not pusht.is_success(pose(221.0, 200.0, 1.0), goal)


def test_success_needs_angle_within_pi_over_9_across_the_wrap(pusht: PushTEnv) -> None:
    goal = pose(200.0, 200.0, 0.05)
    assert pusht.is_success(pose(200.0, 200.0, 2 * np.pi - 0.05), goal)
    assert not pusht.is_success(pose(200.0, 200.0, 0.05 + np.pi / 9 + 0.01), goal)


def test_pusher_position_does_not_count(pusht: PushTEnv) -> None:
    assert pusht.state_distance(pose(200.0, 200.0, 1.0, agent_x=50.0), pose(200.0, 200.0, 1.0)) == 0.0


def test_goal_policy_moves_the_block(pusht: PushTEnv) -> None:
    tasks = [pusht.sample_goal_task(seed=seed, offset=25) for seed in range(8)]
    moved = [np.linalg.norm(task.goal_state[2:4] - task.start_state[2:4]) for task in tasks]
    assert np.median(moved) > 20.0
