"""A tiny GoalEnv for data tests: a point in the unit square, drawn as a square with numpy.

Importing this module registers it as ``worldplan_test/Point-v0`` (so ``"point_env:worldplan_test/Point-v0"``
works as an env id from a subprocess with ``tests/data`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from worldplan.envs import GoalEnv

ENV_ID = "worldplan_test/Point-v0"
MODULE_ENV_ID = f"point_env:{ENV_ID}"


class PointEnv(GoalEnv):
    """State (x, y) in [0, 1]^2; action (dx, dy) in [-1, 1]^2 moves by 0.1 x action, clipped.

    ``state_distance`` is the Euclidean distance in the unit square; success below 0.05.
    """

    success_threshold = 0.05

    def __init__(self, image_size: int = 16, render_mode: str = "rgb_array") -> None:
        if image_size < 8:
            raise ValueError(f"PointEnv image_size must be >= 8, got {image_size}")
        self.image_size = image_size
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._state = np.zeros(2, np.float32)

    def get_state(self) -> np.ndarray:
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        self._state = np.asarray(state, np.float32).copy()

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(state) - np.asarray(goal_state)))

    def render(self) -> np.ndarray:
        size = self.image_size
        image = np.full((size, size, 3), 255, np.uint8)
        x, y = (self._state * (size - 3)).astype(int)
        image[y:y + 3, x:x + 3] = (200, 30, 30)
        return image

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = self.np_random.uniform(0, 1, 2).astype(np.float32)
        return self.render(), {"state": self.get_state()}

    def step(self, action):
        self._state = np.clip(self._state + 0.1 * np.asarray(action, np.float32), 0, 1).astype(np.float32)
        return self.render(), 0.0, False, False, {"state": self.get_state()}

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """Head for the centre of the square."""
        return np.clip((0.5 - self._state) * 5, -1, 1).astype(np.float32)


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=PointEnv, max_episode_steps=200)
