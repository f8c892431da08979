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


def test_advance_simulates_what_gym_pushts_step_does_bit_for_bit(pusht: PushTEnv) -> None:
    """``advance`` skips the coverage, observation and info of gym_pusht's ``step``, not its physics: driven by
    the goal policy (which pushes the block: contacts), it gives the states the original ``step`` gives."""
    reference = PushTEnv(image_size=16)
    reference._simulate = reference._sim.step  # the original: physics, then coverage, observation and info
    moved = []
    for seed in range(4):
        pusht.reset(seed=seed)
        start = pusht.get_state()
        reference.set_state(start)
        rng = np.random.default_rng(seed)
        for _ in range(30):
            action = pusht.goal_policy_action(rng)
            np.testing.assert_array_equal(pusht.advance(action), reference.advance(action))
        moved.append(np.linalg.norm(pusht.get_state()[2:4] - start[2:4]))
    reference.close()
    assert max(moved) > 5.0  # the block was pushed
