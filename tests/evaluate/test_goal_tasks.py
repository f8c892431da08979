"""Evaluation goal tasks: a task already solved at its start is resampled, reproducibly."""

from __future__ import annotations

import gymnasium as gym
import pytest

import worldplan.envs  # noqa: F401  (registers the envs)
from worldplan.evaluate.runner import eval_episode_seed, sample_tasks


def _tasks(offset: int, count: int = 12) -> list:
    envs = [gym.make("worldplan/Wall-v0", image_size=16) for _ in range(count)]
    seeds = [eval_episode_seed(0, i) for i in range(count)]
    return sample_tasks(envs, seeds, goal_source="random_walk", offset=offset), seeds, envs


def test_no_task_is_solved_at_its_start() -> None:
    tasks, _, envs = _tasks(offset=3)
    assert not any(env.unwrapped.is_success(t.start_state, t.goal_state) for env, t in zip(envs, tasks))


def test_only_solved_tasks_change_seed_and_resampling_is_reproducible() -> None:
    tasks, seeds, _ = _tasks(offset=3)
    resampled = [t.seed != s for t, s in zip(tasks, seeds)]
    assert any(resampled) and not all(resampled)  # with 3-step goals some start inside the threshold
    again, _, _ = _tasks(offset=3)
    assert [t.seed for t in again] == [t.seed for t in tasks]


def test_goals_that_are_always_solved_give_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("worldplan.envs.wall.WallEnv.is_success", lambda self, s, g: True)
    with pytest.raises(ValueError, match="goal_offset"):
        _tasks(offset=3, count=1)
