"""Envs, state, success and policy functions a user would write, defined in the test suite only.

None of them is registered: the tests name them as ``<this file>.py:<name>`` (``USER``), the way a
user names code in their own project. ``Slide``: a point x in [-1, 1] moved by 0.1 x action; its
observation is ``[x]`` and its 8 x 12 (non-square) frame stores ``round((x + 1) * 100)`` in channel 0,
so a fake encoder reads x back to 0.01.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

USER = str(Path(__file__).resolve())


def ref(name: str) -> str:
    """``"<path of this file>:<name>"``."""
    return f"{USER}:{name}"


class Slide(gym.Env):
    """No state protocol: the state can only come from the observation."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, start_range: float = 0.5) -> None:
        self.render_mode = render_mode
        self.start_range = start_range
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.x = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self.x], np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.x = float(np.float32(self.np_random.uniform(-self.start_range, self.start_range)))
        return self._obs(), {}

    def step(self, action):
        self.x = float(np.float32(np.clip(self.x + 0.1 * float(np.asarray(action).reshape(-1)[0]), -1.0, 1.0)))
        return self._obs(), -abs(self.x), False, False, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((8, 12, 3), np.uint8)
        frame[..., 0] = round((self.x + 1) * 100)
        return frame


class SettableSlide(Slide):
    """Slide with the state protocol."""

    def get_state(self) -> np.ndarray:
        return self._obs()

    def set_state(self, state: np.ndarray) -> None:
        self.x = float(np.asarray(state, np.float32).reshape(-1)[0])


class SettableWrapper(gym.Wrapper):
    """The state protocol added by a user wrapper around an env that lacks it."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(Slide(render_mode=render_mode))

    def get_state(self) -> np.ndarray:
        return np.array([self.env.unwrapped.x], np.float32)

    def set_state(self, state: np.ndarray) -> None:
        self.env.unwrapped.x = float(np.asarray(state).reshape(-1)[0])


class WideSlide(SettableSlide):
    """SettableSlide with actions in [-2, 2]: another action space."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)


class NoPixels(Slide):
    """Renders nothing in rgb_array."""

    metadata = {"render_modes": ["human"], "render_fps": 10}


class Discrete(Slide):
    """Discrete actions: not plannable by worldplan."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode)
        self.action_space = gym.spaces.Discrete(3)


def doubled_x(env: gym.Env) -> np.ndarray:
    """A user state function: (2 x, 1)."""
    return np.array([2 * env.unwrapped.x, 1.0], np.float32)


def close_enough(state: np.ndarray, goal_state: np.ndarray) -> bool:
    """A user success function: |x - x_goal| < 0.05."""
    return bool(abs(float(state[0]) - float(goal_state[0])) < 0.05)


def push_right(rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
    """A user goal policy: full speed to the right."""
    return np.ones(1, np.float32)
