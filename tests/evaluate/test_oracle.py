"""The oracle model reproduces the real env's frames, plans through the loop; the random planner too."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from eval_fakes import DOT_ID, DotEnv, DotModel

import worldplan.envs  # noqa: F401  (registers the worldplan envs)
from worldplan.envs.base import GoalTask
from worldplan.evaluate.mpc import run_episodes
from worldplan.evaluate.oracle import OracleModel
from worldplan.planners import CEM
from worldplan.planners.random_actions import RandomPlanner

ENVS = [(DOT_ID, {}), ("worldplan/Wall-v0", {"image_size": 16})]


def _mean_pixel(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, S, S, 3) uint8 -> (B, T, 3, 1): a stand-in encoder."""
    return frames.float().mean(dim=(-3, -2))[..., None]


@pytest.mark.parametrize(("env_id", "kwargs"), ENVS, ids=[e for e, _ in ENVS])
def test_oracle_rollout_reproduces_the_real_env_frames(env_id, kwargs):
    frameskip, horizon = 2, 3
    real = gym.make(env_id, **kwargs)
    real.reset(seed=3)
    oracle = OracleModel(env_id=env_id, env_kwargs=kwargs, encoder=_mean_pixel, frameskip=frameskip)
    oracle.set_true_states([real.unwrapped.get_state()])
    actions = torch.rand((1, 2, horizon, frameskip * 2), generator=torch.Generator().manual_seed(0)) * 2 - 1
    frames = oracle.rollout_frames(actions)  # (1, 2, H, S, S, 3)
    for step in range(horizon):  # the real env follows candidate 1
        for j in range(frameskip):
            observation = real.step(actions[0, 1, step, 2 * j : 2 * j + 2].numpy())[0]
        np.testing.assert_array_equal(frames[0, 1, step], observation)
    oracle.close()


def test_oracle_rollout_encodes_every_frame():
    env = gym.make(DOT_ID)
    env.reset(seed=0)
    oracle = OracleModel(env_id=DOT_ID, env_kwargs={}, encoder=_mean_pixel, frameskip=1, encode_batch=4)
    oracle.set_true_states([env.unwrapped.get_state()] * 2)
    actions = torch.zeros((2, 3, 5, 2))
    z = oracle.rollout(torch.zeros(2, 1, 3, 1), actions)
    assert z.shape == (2, 3, 5, 3, 1)
    expected = _mean_pixel(torch.from_numpy(oracle.rollout_frames(actions)).flatten(0, 1)).view_as(z)
    assert torch.equal(z, expected)


def test_oracle_rejects_a_batch_without_true_states():
    oracle = OracleModel(env_id=DOT_ID, env_kwargs={}, encoder=_mean_pixel, frameskip=1)
    oracle.set_true_states([np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="set_true_states"):
        oracle.rollout(torch.zeros(2, 1, 3, 1), torch.zeros(2, 4, 1, 2))


def _tasks(envs: list[DotEnv], goals: list[tuple[float, float]]) -> list[GoalTask]:
    tasks = []
    for i, (env, goal) in enumerate(zip(envs, goals)):
        goal_state = np.array(goal, np.float32)
        start = np.zeros(2, np.float32)
        tasks.append(GoalTask(start, goal_state, env.render_state(goal_state), seed=i, offset=0))
    return tasks


def test_oracle_plans_to_the_goal_through_the_loop():
    envs = [DotEnv(), DotEnv()]
    tasks = _tasks(envs, [(0.3, -0.2), (-0.2, 0.3)])
    oracle = OracleModel(env_id=DOT_ID, env_kwargs={}, encoder=DotModel().encode, frameskip=1)
    cem = CEM(horizon=2, action_low=[-1.0, -1.0], action_high=[1.0, 1.0], num_samples=32, num_elites=4,
              iterations=3, seed=0)
    results = run_episodes(envs, tasks, cem, oracle, frameskip=1, max_env_steps=12)
    assert all(r.success for r in results)
    oracle.close()


def test_random_planner_runs_through_the_loop_without_rollouts():
    envs = [DotEnv(), DotEnv()]
    tasks = _tasks(envs, [(0.9, 0.9), (-0.9, 0.9)])
    model = DotModel(frameskip=2)
    planner = RandomPlanner(horizon=2, action_low=[-1.0] * 4, action_high=[1.0] * 4, seed=0)
    results = run_episodes(envs, tasks, planner, model, frameskip=2, max_env_steps=6)
    assert model.rollout_calls == 0
    assert [(r.steps, r.evaluations, r.cost_traces[0]) for r in results] == [(6, 0, []), (6, 0, [])]


def test_the_random_baseline_makes_no_simulator_copies_and_the_oracle_makes_them_at_its_first_rollout():
    env = gym.make(DOT_ID)
    env.reset(seed=0)
    oracle = OracleModel(env_id=DOT_ID, env_kwargs={}, encoder=_mean_pixel, frameskip=1)
    oracle.set_true_states([env.unwrapped.get_state()] * 2)  # what the MPC loop does before every plan,
    assert oracle._copies == []  # also before the random planner's, which never rolls out
    oracle.rollout_frames(torch.zeros((2, 1, 2, 2)))
    assert len(oracle._copies) == 2
    oracle.close()
