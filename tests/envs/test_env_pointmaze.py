"""PointMaze: walls stop the ball; the goal policy follows the corridors."""

from __future__ import annotations

import numpy as np

from worldplan.envs.pointmaze import BALL_RADIUS, PointMazeEnv, cell_centre, next_cell, open_cells


def test_shortest_path_goes_around_the_inner_wall() -> None:
    assert next_cell((1, 1), (3, 1)) == (1, 2)
    assert next_cell((1, 3), (3, 3)) == (2, 3)
    assert next_cell((2, 3), (2, 3)) == (2, 3)


def test_inner_wall_stops_the_ball() -> None:
    env = PointMazeEnv(image_size=16)
    env.reset(seed=0)
    x, y = cell_centre(1, 1)  # top-left cell; the cell below it is a wall
    env.set_state(np.array([x, y, 0.0, 0.0], dtype=np.float32))
    lowest = min(env.step(np.array([0.0, -1.0], dtype=np.float32))[4]["state"][1] for _ in range(40))
    assert lowest > y - 0.5 + BALL_RADIUS - 0.02
    env.close()


def test_starts_lie_in_free_cells() -> None:
    env = PointMazeEnv(image_size=16)
    centres = np.array([cell_centre(*cell) for cell in open_cells()])
    for seed in range(20):
        state = env.reset(seed=seed)[1]["state"]
        assert np.abs(centres - state[:2]).max(axis=1).min() < 0.5 - BALL_RADIUS
        assert np.all(state[2:] == 0.0)
    env.close()


def test_25_step_goals_are_mostly_beyond_the_success_radius() -> None:
    env = PointMazeEnv(image_size=16)
    tasks = [env.sample_goal_task(seed=seed, offset=25) for seed in range(30)]
    distances = np.array([env.state_distance(task.start_state, task.goal_state) for task in tasks])
    assert np.median(distances) > env.success_threshold
    env.close()
