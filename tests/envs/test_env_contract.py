"""The GoalEnv contract on every registered env: spaces, determinism, exact state round trips, goals."""

from __future__ import annotations

import numpy as np
import pytest
from env_helpers import IMAGE_SIZE, seeded_actions

from worldplan.envs import GoalEnv, make_goal_env


def rollout(env: GoalEnv, seed: int, actions: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T+1, S, S, 3) and states (T+1, state_dim) of a seeded rollout."""
    obs, info = env.reset(seed=seed)
    frames, states = [obs], [info["state"]]
    for action in actions:
        obs, _, _, _, info = env.step(action)
        frames.append(obs)
        states.append(info["state"])
    return np.stack(frames), np.stack(states)


def test_observation_and_state_types(env: GoalEnv) -> None:
    obs, info = env.reset(seed=0)
    assert obs.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and obs.dtype == np.uint8
    assert info["state"].dtype == np.float32 and info["state"].ndim == 1
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and info["state"].dtype == np.float32
    assert (terminated, truncated) == (False, False)
    assert env.action_space.dtype == np.float32 and env.metadata["render_fps"] > 0


def test_same_seed_and_actions_give_identical_frames_and_states(env_id: str) -> None:
    first, second = make_goal_env(env_id, image_size=IMAGE_SIZE), make_goal_env(env_id, image_size=IMAGE_SIZE)
    actions = seeded_actions(first, 12)
    frames_a, states_a = rollout(first, 7, actions)
    frames_b, states_b = rollout(second, 7, actions)
    first.close()
    second.close()
    np.testing.assert_array_equal(frames_a, frames_b)
    np.testing.assert_array_equal(states_a, states_b)
    assert not np.array_equal(states_a[0], states_a[-1])


def test_different_seeds_give_different_starts(env: GoalEnv) -> None:
    starts = [env.reset(seed=seed)[1]["state"] for seed in range(3)]
    assert not np.array_equal(starts[0], starts[1]) and not np.array_equal(starts[1], starts[2])


def test_set_state_round_trip_replays_exactly(env: GoalEnv) -> None:
    actions = seeded_actions(env, 16, seed=1)
    frames, states = rollout(env, 3, actions)
    env.set_state(states[8])
    np.testing.assert_array_equal(env.get_state(), states[8])
    replay = [env.step(action) for action in actions[8:]]
    np.testing.assert_array_equal(np.stack([obs for obs, *_ in replay]), frames[9:])
    np.testing.assert_array_equal(np.stack([info["state"] for *_, info in replay]), states[9:])


def test_render_state_matches_the_observation_there(env: GoalEnv) -> None:
    actions = seeded_actions(env, 6, seed=2)
    frames, states = rollout(env, 4, actions)
    current = env.get_state()
    for index in (0, 3, 6):
        np.testing.assert_array_equal(env.render_state(states[index]), frames[index])
    np.testing.assert_array_equal(env.get_state(), current)


def test_goal_task_reaches_the_requested_offset_and_leaves_env_at_start(env: GoalEnv) -> None:
    task = env.sample_goal_task(seed=11, offset=10)
    assert task.offset == 10 and task.seed == 11
    np.testing.assert_array_equal(env.get_state(), task.start_state)
    assert not np.array_equal(task.start_state, task.goal_state)
    env.reset(seed=11)  # replay the goal policy by hand: the goal is its state after `offset` steps
    rng = np.random.default_rng(11)
    for _ in range(10):
        *_, info = env.step(env.goal_policy_action(rng))
    np.testing.assert_array_equal(info["state"], task.goal_state)
    np.testing.assert_array_equal(env.render_state(task.goal_state), task.goal_image)


def test_reward_is_minus_goal_distance_and_zero_without_goal(env: GoalEnv) -> None:
    action = seeded_actions(env, 1)[0]
    env.set_goal(None)
    env.reset(seed=5)
    assert env.step(action)[1] == 0.0
    task = env.sample_goal_task(seed=5, offset=6)
    _, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(-env.state_distance(info["state"], task.goal_state))
    assert reward < 0.0


def test_success_at_the_goal_and_not_at_a_far_start(env: GoalEnv) -> None:
    task = env.sample_goal_task(seed=2, offset=8)
    assert env.is_success(task.goal_state, task.goal_state)
    assert env.state_distance(task.goal_state, task.goal_state) == pytest.approx(0.0)
    starts = [env.reset(seed=seed)[1]["state"] for seed in range(10)]
    far = max(starts, key=lambda state: env.state_distance(state, task.goal_state))
    assert not env.is_success(far, task.goal_state)


def test_out_of_bounds_action_is_clipped(env: GoalEnv) -> None:
    env.reset(seed=0)
    start = env.get_state()
    clipped = env.step(env.action_space.high)[0]
    env.set_state(start)
    np.testing.assert_array_equal(env.step(env.action_space.high * 10)[0], clipped)


@pytest.mark.parametrize("bad", [np.zeros(3), np.array([np.nan, 0.0]), np.zeros((2, 1))])
def test_malformed_action_is_a_value_error(env: GoalEnv, bad: np.ndarray) -> None:
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)


def test_malformed_state_is_a_value_error(env: GoalEnv) -> None:
    env.reset(seed=0)
    with pytest.raises(ValueError, match="state"):
        env.set_state(np.zeros(env.get_state().shape[0] + 1, dtype=np.float32))
    with pytest.raises(ValueError, match="goal_state"):
        env.set_goal(np.full(env.get_state().shape, np.inf, dtype=np.float32))
