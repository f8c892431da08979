"""``check_goal_env`` passes on every shipped env and names the fix on small broken fakes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from env_helpers import IMAGE_SIZE

from worldplan.envs import GoalEnv, check_goal_env

SIDE = 8


class Dot(GoalEnv):
    """A point in the unit square moved by 0.1 x action, drawn as one red pixel."""

    success_threshold = 0.05

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(0, 255, (SIDE, SIDE, 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._state = np.zeros(2, np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = self.np_random.uniform(0, 1, 2).astype(np.float32)
        return self._frame(), {"state": self.get_state()}

    def step(self, action):
        self._state = np.clip(self._state + 0.1 * np.asarray(action, np.float32), 0, 1).astype(np.float32)
        return self._frame(), 0.0, False, False, {"state": self.get_state()}

    def get_state(self) -> np.ndarray:
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        self._state = np.asarray(state, np.float32).copy()

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(state) - np.asarray(goal_state)))

    def _frame(self) -> np.ndarray:
        image = np.zeros((SIDE, SIDE, 3), np.uint8)
        x, y = np.round(self._state * (SIDE - 1)).astype(int)
        image[y, x, 0] = 255
        return image

    def render(self) -> np.ndarray:
        return self._frame()


class IgnoresSetState(Dot):
    def set_state(self, state: np.ndarray) -> None:
        pass


class NondeterministicReset(Dot):
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = np.random.default_rng().uniform(0, 1, 2).astype(np.float32)
        return self._frame(), {"state": self.get_state()}


class FloatRender(Dot):
    def render(self) -> np.ndarray:
        return self._frame().astype(np.float32) / 255


class StaleRender(Dot):
    def render(self) -> np.ndarray:
        if not hasattr(self, "_cached"):
            self._cached = self._frame()
        return self._cached


class WrongProprio(Dot):
    proprio_indices = (0, 1)
    proprio_dim = 3


class NoGoalInterface(gym.Env):
    observation_space = gym.spaces.Box(0, 255, (SIDE, SIDE, 3), np.uint8)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)


class WrongObservationSpace(Dot):
    def __init__(self) -> None:
        super().__init__()
        self.observation_space = gym.spaces.Box(0, 255, (SIDE * 2, SIDE * 2, 3), np.uint8)


def test_every_shipped_env_passes(env: GoalEnv) -> None:
    check_goal_env(env)


def test_a_wrapped_env_from_gym_make_passes() -> None:
    env = gym.make("worldplan/Wall-v0", image_size=IMAGE_SIZE)
    check_goal_env(env)
    env.close()


def test_the_fake_passes() -> None:
    check_goal_env(Dot())


@pytest.mark.parametrize(("env_class", "message"), [
    (NoGoalInterface, "lacks the goal-interface method\\(s\\) get_state, set_state, state_distance, "
                      "sample_goal_task, is_success: subclass worldplan.envs.GoalEnv"),
    (WrongObservationSpace, "reset returned an observation outside observation_space"),
    (FloatRender, "render\\(\\) must return a uint8 numpy image, got float32"),
    (NondeterministicReset, "two resets with seed=0 gave different .* from self.np_random"),
    (IgnoresSetState, "set_state\\(s\\) then get_state\\(\\) did not return s: set_state must put"),
    (StaleRender, "render\\(\\) showed the same image for two different states"),
    (WrongProprio, "proprio\\(state\\) must be a finite float32 array of shape \\(3,\\)"),
])
def test_a_broken_env_fails_with_what_to_fix(env_class: type[gym.Env], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_goal_env(env_class())
