"""Wall: the dot crosses the dividing wall only through the door; starts cover both rooms."""

from __future__ import annotations

import numpy as np
import pytest

from worldplan.envs.wall import CORRIDOR, FLOOR, SLAB, WallEnv


def push(env: WallEnv, start: tuple[float, float], action: tuple[float, float], steps: int) -> np.ndarray:
    """States (steps, 2) visited when holding ``action`` from ``start``."""
    env.reset(seed=0)
    env.set_state(np.array(start, dtype=np.float32))
    return np.stack([env.step(np.array(action, dtype=np.float32))[4]["state"] for _ in range(steps)])


def test_wall_stops_the_dot_outside_the_door() -> None:
    states = push(WallEnv(), (20.0, 10.0), (1.0, 0.0), 20)
    assert states[:, 0].max() == pytest.approx(SLAB[0])
    assert np.all(states[:, 1] == np.float32(10.0))


def test_dot_passes_through_the_door() -> None:
    states = push(WallEnv(), (20.0, 32.0), (1.0, 0.0), 20)
    assert states[-1, 0] > SLAB[1]


def test_dot_inside_the_door_stays_in_the_corridor() -> None:
    states = push(WallEnv(), (32.0, 32.0), (0.0, 1.0), 10)
    assert states[:, 1].max() == pytest.approx(CORRIDOR[1])
    assert np.all(states[:, 0] == np.float32(32.0))


def test_dot_stays_on_the_floor() -> None:
    states = push(WallEnv(), (10.0, 10.0), (-1.0, -1.0), 10)
    np.testing.assert_allclose(states[-1], [FLOOR[0], FLOOR[0]])


def test_resets_start_in_both_rooms() -> None:
    env = WallEnv()
    xs = np.array([env.reset(seed=seed)[1]["state"][0] for seed in range(30)])
    assert np.any(xs < SLAB[0]) and np.any(xs > SLAB[1])
    assert not np.any((xs > SLAB[0]) & (xs < SLAB[1]))


def test_25_step_goals_are_mostly_beyond_the_success_radius() -> None:
    env = WallEnv(image_size=8)
    tasks = [env.sample_goal_task(seed=seed, offset=25) for seed in range(40)]
    distances = np.array([env.state_distance(task.start_state, task.goal_state) for task in tasks])
    assert np.median(distances) > 2 * env.success_threshold
    assert np.mean(distances < env.success_threshold) < 0.2


def test_dot_is_drawn_red_at_its_position() -> None:
    env = WallEnv(image_size=64)
    env.reset(seed=0)
    env.set_state(np.array([20.0, 40.0], dtype=np.float32))
    pixel = env.render()[40, 20]  # one unit per pixel at 64 px; rows are y
    assert pixel[0] > 240 and pixel[1] < 60 and pixel[2] < 60


@pytest.mark.parametrize("size", [8, 13, 128])
def test_any_image_size_renders_walls_and_dot(size: int) -> None:
    env = WallEnv(image_size=size)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (size, size, 3)
    assert obs.min() < 200 and obs.max() == 255  # anti-aliased walls stay visible at 8 px


def test_state_inside_the_wall_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="inside a wall"):
        WallEnv().set_state(np.array([32.0, 10.0], dtype=np.float32))
