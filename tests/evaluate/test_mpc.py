"""The MPC loop on the Dot env with an exact fake model: stopping, budgets, warm starts, context, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from eval_fakes import DOT_ID, DotEnv, DotModel, SpyPlanner

from worldplan.envs.base import GoalTask
from worldplan.evaluate.mpc import run_episodes
from worldplan.evaluate.runner import evaluate_episodes
from worldplan.planners import CEM, NonFiniteCostError, PlanResult, shift_plan


class GridPlanner:
    """Scores every constant sequence with per-env-step action in {-1, 0, 1}^2 and returns the best."""

    needs_gradients = False

    def __init__(self, horizon: int, frameskip: int) -> None:
        self.horizon = horizon
        grid = torch.tensor(list(itertools.product((-1.0, 0.0, 1.0), repeat=2)))  # (9, 2)
        self.candidates = grid.repeat(1, frameskip)[:, None].expand(-1, horizon, -1)  # (9, H, A)
        self.action_low = -torch.ones(2 * frameskip)
        self.batch_sizes: list[int] = []

    def plan(self, cost_fn, batch_size, warm_start=None):
        self.batch_sizes.append(batch_size)
        candidates = self.candidates.expand(batch_size, -1, -1, -1)
        costs = cost_fn(candidates)  # (B, 9)
        best = costs.argmin(dim=1)
        return PlanResult(actions=candidates[torch.arange(batch_size), best], cost_trace=costs.min(1).values[:, None],
                          evaluations=len(self.candidates))


def _task(env: DotEnv, start, goal, seed: int = 0) -> GoalTask:
    start, goal = np.array(start, np.float32), np.array(goal, np.float32)
    goal_image = env.render_state(goal)
    env.set_state(start)
    return GoalTask(start_state=start, goal_state=goal, goal_image=goal_image, seed=seed, offset=0)


def _setup(goals, start=(0.0, 0.0)):
    envs = [DotEnv() for _ in goals]
    tasks = [_task(env, start, goal, seed=i) for i, (env, goal) in enumerate(zip(envs, goals))]
    for env in envs:
        env.calls.clear()
    return envs, tasks


def test_episode_stops_at_first_successful_step():
    envs, tasks = _setup([(0.3, 0.0), (0.5, 0.1)])
    planner = GridPlanner(horizon=1, frameskip=1)
    results = run_episodes(envs, tasks, planner, DotModel(), frameskip=1, max_env_steps=20)
    assert [r.success for r in results] == [True, True]
    assert [r.steps for r in results] == [3, 5]
    assert [r.frames.shape[0] for r in results] == [4, 6]
    assert all(r.final_state_distance < DotEnv.success_threshold for r in results)


def test_episodes_told_not_to_keep_frames_hold_none_and_end_the_same():
    kept = run_episodes(*_setup([(0.3, 0.0), (0.5, 0.1)]), GridPlanner(1, 1), DotModel(), frameskip=1,
                        max_env_steps=20)
    mixed = run_episodes(*_setup([(0.3, 0.0), (0.5, 0.1)]), GridPlanner(1, 1), DotModel(), frameskip=1,
                         max_env_steps=20, keep_frames=[True, False])
    assert mixed[0].frames.shape == kept[0].frames.shape == (4, *kept[0].goal_image.shape)
    assert mixed[1].frames is None
    def outcome(r):
        return r.success, r.steps, r.final_state_distance, r.final_latent_distance, r.cost_traces

    assert [outcome(r) for r in mixed] == [outcome(r) for r in kept]


def test_evaluation_keeps_frames_only_of_the_video_episodes():
    results = evaluate_episodes(env_id=DOT_ID, env_kwargs={}, seeds=[0, 1, 2], goal_source="random_walk",
                                goal_offset=3, planner=GridPlanner(1, 1), model=DotModel(), batch_size=2,
                                loop_kwargs={"frameskip": 1, "max_env_steps": 3}, video_episodes=1)
    assert results[0].frames is not None and results[0].frames.shape[0] == results[0].steps + 1
    assert [r.frames for r in results[1:]] == [None, None]  # one in the first batch, one in the second


def test_env_steps_are_exactly_the_executed_steps_and_planning_never_touches_envs():
    envs, tasks = _setup([(0.3, 0.0), (0.5, 0.1)])
    planner = SpyPlanner(GridPlanner(horizon=1, frameskip=1), envs)
    results = run_episodes(envs, tasks, planner, DotModel(), frameskip=1, max_env_steps=20)
    assert [env.calls["step"] for env in envs] == [r.steps for r in results]


def test_finished_episodes_are_no_longer_planned():
    envs, tasks = _setup([(0.3, 0.0), (0.5, 0.1)])
    planner = GridPlanner(horizon=1, frameskip=1)
    run_episodes(envs, tasks, planner, DotModel(), frameskip=1, max_env_steps=20)
    assert planner.batch_sizes == [2, 2, 2, 1, 1]


def test_episode_stops_at_the_step_budget():
    envs, tasks = _setup([(0.9, 0.0)])
    results = run_episodes(envs, tasks, GridPlanner(horizon=1, frameskip=1), DotModel(), frameskip=1, max_env_steps=4)
    assert (results[0].success, results[0].steps, envs[0].calls["step"]) == (False, 4, 4)
    assert results[0].final_state_distance == pytest.approx(0.5, abs=1e-5)


def test_frameskip_executes_each_model_step_as_env_steps():
    envs, tasks = _setup([(0.4, 0.0)])
    results = run_episodes(envs, tasks, GridPlanner(horizon=1, frameskip=2), DotModel(frameskip=2), frameskip=2,
                           max_env_steps=20)
    assert (results[0].success, results[0].steps, len(results[0].plan_seconds)) == (True, 4, 2)


def test_warm_start_is_previous_plan_shifted_by_executed_model_steps():
    envs, tasks = _setup([(0.9, 0.9), (-0.9, 0.5)])
    cem = CEM(horizon=3, action_low=[-1.0, -1.0], action_high=[1.0, 1.0], num_samples=16, num_elites=4,
              iterations=2, seed=0)
    spy = SpyPlanner(cem, envs)
    run_episodes(envs, tasks, spy, DotModel(), frameskip=1, max_env_steps=6, replan_every=2)
    assert spy.warm_starts[0] is None and len(spy.warm_starts) == 3
    for previous, warm in zip(spy.plans, spy.warm_starts[1:]):
        assert torch.equal(warm, shift_plan(previous, 2))


class _ContextRecorder(DotModel):
    def __init__(self, frameskip: int) -> None:
        super().__init__(frameskip)
        self.contexts: list[torch.Tensor] = []

    def rollout(self, z_context, actions, *, last_only=False):
        self.contexts.append(z_context.clone())
        return super().rollout(z_context, actions, last_only=last_only)


def test_context_is_last_frames_at_model_step_stride():
    envs, tasks = _setup([(0.9, 0.0)])
    model = _ContextRecorder(frameskip=2)
    run_episodes(envs, tasks, GridPlanner(horizon=1, frameskip=2), model, frameskip=2, max_env_steps=6,
                 context_frames=2)
    x_positions = [ctx[0, :, 0, 0].tolist() for ctx in model.contexts]
    assert x_positions == [pytest.approx([0.0]), pytest.approx([0.0, 0.2]), pytest.approx([0.2, 0.4])]


def test_cem_on_exact_model_reaches_the_goal():
    envs, tasks = _setup([(0.3, -0.2), (-0.2, 0.3)])
    cem = CEM(horizon=3, action_low=[-1.0, -1.0], action_high=[1.0, 1.0], num_samples=64, num_elites=8,
              iterations=4, seed=0)
    results = run_episodes(envs, tasks, cem, DotModel(), frameskip=1, max_env_steps=15)
    assert all(r.success for r in results)
    assert all(r.evaluations == 64 * 4 * len(r.plan_seconds) for r in results)


def test_goal_image_of_wrong_size_is_rejected():
    envs, tasks = _setup([(0.3, 0.0)])
    bad = GoalTask(tasks[0].start_state, tasks[0].goal_state, np.zeros((8, 8, 3), np.uint8), 0, 0)
    with pytest.raises(ValueError, match="goal image"):
        run_episodes(envs, [bad], GridPlanner(1, 1), DotModel(), frameskip=1, max_env_steps=5)


def test_planner_action_size_must_be_frameskip_times_env_actions():
    envs, tasks = _setup([(0.3, 0.0)])
    with pytest.raises(ValueError, match="action size"):
        run_episodes(envs, tasks, GridPlanner(1, frameskip=1), DotModel(), frameskip=2, max_env_steps=5)


def test_replan_interval_longer_than_horizon_is_rejected():
    envs, tasks = _setup([(0.3, 0.0)])
    with pytest.raises(ValueError, match="replan_every"):
        run_episodes(envs, tasks, GridPlanner(1, 1), DotModel(), frameskip=1, max_env_steps=5, replan_every=2)


class _NaNModel(DotModel):
    def rollout(self, z_context, actions, *, last_only=False):
        return super().rollout(z_context, actions, last_only=last_only) * float("nan")


def test_nan_rollout_raises_instead_of_planning():
    envs, tasks = _setup([(0.3, 0.0)])
    with pytest.raises(NonFiniteCostError, match="NaN"):
        run_episodes(envs, tasks, GridPlanner(1, 1), _NaNModel(), frameskip=1, max_env_steps=5)


class ProprioDotEnv(DotEnv):
    proprio_indices = (0, 1)  # the dot's position is its own state


class ProprioDotModel(DotModel):
    """The exact Dot model with proprioception: it predicts the position it rolls out (identity normalisation)."""

    proprio_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.given: list[torch.Tensor] = []

    def rollout_with_proprio(self, z_context, actions, *, proprio, last_only=False):
        self.given.append(proprio.clone())
        z = self.rollout(z_context, actions, last_only=last_only)
        return z, z[..., 0, :]  # (B, N, H', 2)

    def normalize_proprio(self, proprio):
        return proprio


@pytest.mark.parametrize(("weight", "success"), [(100.0, True), (0.0, False)])
def test_a_proprio_model_gets_the_current_proprio_and_its_cost_scores_the_goals(weight, success):
    env = ProprioDotEnv()
    goal = np.array([0.3, 0.0], np.float32)
    misleading = env.render_state(-goal)  # the image shows the mirror goal: only the proprio term points at goal
    env.set_state(np.zeros(2, np.float32))
    task = GoalTask(start_state=np.zeros(2, np.float32), goal_state=goal, goal_image=misleading, seed=0, offset=0)
    model = ProprioDotModel()
    results = run_episodes([env], [task], GridPlanner(horizon=1, frameskip=1), model, frameskip=1, max_env_steps=5,
                           cost_kwargs={"proprio_weight": weight})
    assert results[0].success is success
    torch.testing.assert_close(model.given[0], torch.zeros(1, 2))  # the start's proprio, then the states reached
    torch.testing.assert_close(model.given[1], torch.tensor([[0.1 if success else -0.1, 0.0]]))
