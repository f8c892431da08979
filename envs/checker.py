"""``check_goal_env``: check that an env keeps the goal-env contract planning relies on.

Like Gymnasium's ``check_env``, it is a list of small named checks; the first that fails raises a
ValueError that says what is wrong and what to change. Run it on your own env before collecting data::

    from worldplan.envs import check_goal_env
    check_goal_env(MyEnv(image_size=64))
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from worldplan.envs.base import GoalTask

GOAL_METHODS = ("get_state", "set_state", "state_distance", "render", "sample_goal_task", "is_success")
CONTRACT = "see worldplan.envs.GoalEnv"


def check_goal_env(env: gym.Env, *, seed: int = 0, steps: int = 8) -> None:
    """Check ``env`` (a ``GoalEnv``, wrapped or not) against the goal-env contract.

    Checks, in order: the goal interface; reset and step results and their observations against
    ``observation_space``; the state (1-D, float32, finite, also in ``info["state"]``); rendering
    ((S, S, 3) uint8, square); determinism (same seed, same start; same actions, same states); the
    state protocol (``set_state`` then ``get_state`` round-trips, ``render`` shows the state set);
    goal tasks and success; the proprioception, for an env that has one. The env is left in some
    state: reset it before use.

    Args:
        env: the env to check.
        seed: the seed of its resets and of the random actions it is stepped with.
        steps: env steps of the rollouts; they must move the state.

    Raises:
        ValueError: the first broken rule, with what to fix.
    """
    base = env.unwrapped
    check_goal_interface(base)
    actions = _seeded_actions(env, seed, steps)
    states = check_rollout(env, seed, actions)
    check_render(base)
    check_determinism(env, seed, actions, states)
    check_state_protocol(base, states[0], states[-1])
    check_goal_task(base, seed, steps)
    check_proprio(base, states[-1])


def check_goal_interface(base: gym.Env) -> None:
    """The env has every method of the goal interface."""
    missing = [name for name in GOAL_METHODS if not callable(getattr(base, name, None))]
    if missing:
        raise ValueError(f"{type(base).__name__} lacks the goal-interface method(s) {', '.join(missing)}: "
                         f"subclass worldplan.envs.GoalEnv and implement them ({CONTRACT})")


def _seeded_actions(env: gym.Env, seed: int, steps: int) -> list[Any]:
    env.action_space.seed(seed)
    return [env.action_space.sample() for _ in range(steps)]


def _check_observation(env: gym.Env, obs: Any, where: str) -> None:
    if not env.observation_space.contains(obs):
        found = f"shape {np.shape(obs)}, dtype {getattr(obs, 'dtype', type(obs).__name__)}"
        raise ValueError(f"{where} returned an observation outside observation_space {env.observation_space} "
                         f"({found}): make the space describe the frames the env returns, or return such frames")


def check_state(base: gym.Env, info: dict[str, Any], where: str) -> np.ndarray:
    """``info["state"]`` is a finite 1-D float32 array equal to ``get_state()``; return it."""
    if "state" not in info:
        raise ValueError(f"{where} returned no info['state']: put the true state (get_state()) in info "
                         f"on reset and step ({CONTRACT})")
    state = info["state"]
    if not (isinstance(state, np.ndarray) and state.ndim == 1 and state.dtype == np.float32
            and np.all(np.isfinite(state))):
        raise ValueError(f"{where}: info['state'] must be a finite 1-D float32 array, got {state!r}: "
                         "return np.asarray(state, np.float32)")
    if not np.array_equal(state, base.get_state()):
        raise ValueError(f"{where}: info['state'] differs from get_state(): return the same true state in both")
    return state


def check_rollout(env: gym.Env, seed: int, actions: list[Any]) -> list[np.ndarray]:
    """Reset with ``seed`` and step ``actions``, checking each result; return the states visited."""
    result = env.reset(seed=seed)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ValueError("reset must return (observation, info), as in Gymnasium >= 0.26")
    obs, info = result
    _check_observation(env, obs, "reset")
    states = [check_state(env.unwrapped, info, "reset")]
    for action in actions:
        result = env.step(action)
        if not (isinstance(result, tuple) and len(result) == 5):
            raise ValueError("step must return (observation, reward, terminated, truncated, info)")
        _check_observation(env, result[0], "step")
        states.append(check_state(env.unwrapped, result[4], "step"))
    if np.array_equal(states[0], states[-1]):
        raise ValueError(f"{len(actions)} random actions left the state unchanged: the checks need actions "
                         "that move it (check that step applies the action, or pass more steps=)")
    return states


def check_render(base: gym.Env) -> None:
    """``render()`` returns a square (S, S, 3) uint8 image."""
    image = base.render()
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"render() must return a uint8 numpy image, got {getattr(image, 'dtype', type(image))}: "
                         "convert it with np.asarray(image, np.uint8) (values 0..255)")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
        raise ValueError(f"render() must return a square (S, S, 3) RGB image, got shape {image.shape}: "
                         "render square frames (an image_size argument) with render_mode='rgb_array'")


def check_determinism(env: gym.Env, seed: int, actions: list[Any], states: list[np.ndarray]) -> None:
    """A second reset with ``seed`` gives the same start, and ``actions`` give the same ``states``."""
    first_obs = env.reset(seed=seed)[0]
    second_obs, info = env.reset(seed=seed)
    if not (np.array_equal(first_obs, second_obs) and np.array_equal(info["state"], states[0])):
        raise ValueError(f"two resets with seed={seed} gave different observations or states: draw every random "
                         "number in reset from self.np_random (call super().reset(seed=seed) first)")
    for step, action in enumerate(actions, start=1):
        if not np.array_equal(env.step(action)[4]["state"], states[step]):
            raise ValueError(f"the same seed and actions gave a different state at step {step}: make step "
                             "deterministic (random numbers from self.np_random only, no wall-clock or global RNG)")


def check_state_protocol(base: gym.Env, state_a: np.ndarray, state_b: np.ndarray) -> None:
    """``set_state`` then ``get_state`` round-trips, and ``render`` shows the state that was set."""
    images = []
    for state in (state_a, state_b):
        base.set_state(state)
        if not np.allclose(base.get_state(), state, rtol=1e-5, atol=1e-6):
            raise ValueError("set_state(s) then get_state() did not return s: set_state must put the simulator "
                             f"in s (for MuJoCo: set qpos/qvel, then mj_forward) ({CONTRACT})")
        images.append(base.render())
    if np.array_equal(*images):
        raise ValueError("render() showed the same image for two different states set with set_state: render "
                         "must draw the current state (no cached frame; MuJoCo: mj_forward after setting it)")


def check_proprio(base: gym.Env, state: np.ndarray) -> None:
    """For an env with ``proprio_dim > 0``: ``proprio(state)`` is a finite (proprio_dim,) float32 array."""
    size = int(getattr(base, "proprio_dim", 0))
    if not size:
        return
    proprio = base.proprio(state)
    if not (isinstance(proprio, np.ndarray) and proprio.shape == (size,) and proprio.dtype == np.float32
            and np.all(np.isfinite(proprio))):
        raise ValueError(f"proprio(state) must be a finite float32 array of shape ({size},) (proprio_dim), got "
                         f"{proprio!r}: pick the agent's own entries of the state ({CONTRACT})")


def check_goal_task(base: gym.Env, seed: int, offset: int) -> None:
    """``sample_goal_task`` returns a GoalTask, leaves the env at its start; the goal counts as success."""
    task = base.sample_goal_task(seed=seed, offset=offset)
    if not isinstance(task, GoalTask):
        raise ValueError(f"sample_goal_task returned {type(task).__name__}, not a GoalTask: return "
                         "worldplan.envs.GoalTask(start_state, goal_state, goal_image, seed, offset)")
    if not np.allclose(base.get_state(), task.start_state, rtol=1e-5, atol=1e-6):
        raise ValueError("sample_goal_task must leave the env at the task's start state (set_state(start_state))")
    image = task.goal_image
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == base.render().shape):
        raise ValueError("the goal image must be the env rendered at the goal state: a uint8 array of render()'s "
                         "shape")
    if not base.is_success(task.goal_state, task.goal_state):
        raise ValueError("is_success(goal, goal) must be True: a state is at its own goal; "
                         "check state_distance(goal, goal) == 0 and success_threshold > 0")
