"""The goal interface every planning-benchmark env implements.

A ``GoalEnv`` is a Gymnasium env with pixel observations (``(S, S, 3)`` uint8, ``S`` = ``image_size``),
the true low-dimensional state in ``info["state"]`` (float32, ``(state_dim,)``) on reset and step,
and methods to set/get that state, render any state as the goal image, sample a start and a goal that
is reachable in a given number of steps, and decide success from the true state (never from a model).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class GoalTask:
    """A start state, a goal state reachable from it, and the goal image.

    Attributes:
        start_state: (state_dim,) float32.
        goal_state: (state_dim,) float32.
        goal_image: (S, S, 3) uint8, the env rendered at ``goal_state``.
        seed: the seed the task was sampled with.
        offset: env steps between start and goal.
    """

    start_state: np.ndarray
    goal_state: np.ndarray
    goal_image: np.ndarray
    seed: int
    offset: int


class GoalEnv(gym.Env, abc.ABC):
    """Base class: pixel observations, true state in ``info``, goal sampling and success.

    Subclasses set ``success_threshold`` and a docstring that says what ``state_distance`` measures,
    and implement ``get_state``, ``set_state``, ``state_distance`` and ``render``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    success_threshold: float = 0.0

    @abc.abstractmethod
    def get_state(self) -> np.ndarray:
        """The true state, (state_dim,) float32."""

    @abc.abstractmethod
    def set_state(self, state: np.ndarray) -> None:
        """Put the simulator in ``state`` ((state_dim,) float32); the next ``render`` shows it."""

    @abc.abstractmethod
    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """The task's distance between two true states, in the units of ``success_threshold``."""

    def is_success(self, state: np.ndarray, goal_state: np.ndarray) -> bool:
        """Success is decided from the true state alone."""
        return bool(self.state_distance(state, goal_state) < self.success_threshold)

    def render_state(self, state: np.ndarray) -> np.ndarray:
        """Render ``state`` as an (S, S, 3) uint8 image and restore the current state."""
        saved = self.get_state()
        self.set_state(state)
        image = self.render()
        self.set_state(saved)
        return image

    def sample_goal_task(self, seed: int, offset: int) -> GoalTask:
        """Reset with ``seed``, walk ``offset`` steps of the env's goal policy; the end is the goal.

        The env is left at the start state, so the caller can plan from it right away.
        """
        _, info = self.reset(seed=seed)
        start = info["state"].copy()
        rng = np.random.default_rng(seed)
        for _ in range(offset):
            self.step(self.goal_policy_action(rng))
        goal = self.get_state().copy()
        goal_image = self.render()
        self.set_state(start)
        return GoalTask(start_state=start, goal_state=goal, goal_image=goal_image, seed=seed, offset=offset)

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """One action of the policy that walks from a start to a goal: uniform random by default."""
        low, high = self.action_space.low, self.action_space.high
        return rng.uniform(low, high).astype(self.action_space.dtype)
