"""The goal interface every planning-benchmark env implements.

A ``GoalEnv`` is a Gymnasium env with pixel observations (``(S, S, 3)`` uint8, ``S`` = ``image_size``),
the true low-dimensional state in ``info["state"]`` (float32, ``(state_dim,)``) on reset and step,
and methods to set/get that state, render any state as the goal image, sample a start and a goal that
is reachable in a given number of steps, and decide success from the true state (never from a model).
An env may also expose its *proprioception*, the agent's own low-dimensional state (DINO-WM's proprio:
e.g. the PushT pusher's position and velocity), as ``proprio(state)``; ``proprio_dim`` is 0 when it has none.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

MIN_IMAGE_SIZE = 8


def validate_image_size(image_size: Any) -> int:
    """Return ``image_size`` if it is an int >= ``MIN_IMAGE_SIZE``, else raise a ValueError naming it."""
    is_int = isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool)
    if not is_int or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be an int >= {MIN_IMAGE_SIZE} (pixels a side), got {image_size!r}")
    return int(image_size)


def xy_distance(state: np.ndarray, goal_state: np.ndarray) -> float:
    """Euclidean distance between the first two entries (a position) of two states."""
    delta = np.asarray(state, dtype=np.float64)[:2] - np.asarray(goal_state, dtype=np.float64)[:2]
    return float(np.hypot(delta[0], delta[1]))


def validate_render_mode(render_mode: str | None) -> str:
    """Goal envs always render ``rgb_array`` (observations are images); ``None`` means the same."""
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be 'rgb_array' (or None), got {render_mode!r}")
    return "rgb_array"


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


def finite_array(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as a float32 array of ``shape`` with finite entries.

    Raises:
        ValueError: another shape or a NaN / infinite entry; the message names ``name``.
    """
    array = np.asarray(value, dtype=np.float32)
    if array.shape != tuple(shape) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a finite array of shape {tuple(shape)}, got {value!r}")
    return array


class GoalEnv(gym.Env, abc.ABC):
    """Base class: pixel observations, true state in ``info``, goal sampling and success.

    Subclasses set ``success_threshold`` and a docstring that says what ``state_distance`` measures,
    and implement ``get_state``, ``set_state``, ``state_distance`` and ``render``. Those whose agent has
    a proprioception set ``proprio_indices``, the entries of the state that make it up.

    The current task goal (``goal_state``, set by ``set_goal`` or ``sample_goal_task`` and kept across
    resets) only shapes the reward: ``-state_distance(state, goal_state)``, or 0 without a goal.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    success_threshold: float = 0.0
    goal_state: np.ndarray | None = None
    proprio_indices: tuple[int, ...] = ()

    @property
    def proprio_dim(self) -> int:
        """Sp, the size of ``proprio(state)``; 0 for an env without proprioception."""
        return len(self.proprio_indices)

    def proprio(self, state: np.ndarray) -> np.ndarray:
        """The agent's proprioception within a true state ((state_dim,)): (Sp,) float32.

        Raises:
            ValueError: the env has no proprioception (``proprio_dim`` is 0).
        """
        if not self.proprio_indices:
            raise ValueError(f"{type(self).__name__} exposes no proprioception (proprio_dim is 0)")
        return np.asarray(state, dtype=np.float32)[list(self.proprio_indices)]

    def set_goal(self, goal_state: np.ndarray | None) -> None:
        """Set the task goal ((state_dim,) float32) the reward measures against; ``None`` clears it."""
        if goal_state is None:
            self.goal_state = None
            return
        self.goal_state = finite_array(goal_state, self.get_state().shape, "goal_state").copy()

    def task_reward(self, state: np.ndarray) -> float:
        """``-state_distance(state, goal_state)`` for the current goal, 0.0 when no goal is set."""
        if self.goal_state is None:
            return 0.0
        return -float(self.state_distance(state, self.goal_state))

    def check_action(self, action: np.ndarray) -> np.ndarray:
        """Validate an action's shape and finiteness; return it as float32 clipped to the action bounds.

        Raises:
            ValueError: the action has the wrong shape or non-finite entries.
        """
        space = self.action_space
        return np.clip(finite_array(action, space.shape, "action"), space.low, space.high)

    def advance(self, action: np.ndarray) -> np.ndarray:
        """Apply one action like ``step`` but without rendering; return the new (state_dim,) state.

        For callers that step many times and look at few frames (the oracle). The default calls
        ``step``; envs whose rendering costs more than their dynamics override it.
        """
        return self.step(action)[4]["state"]

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

        The env is left at the start state with the goal set as its task goal (``set_goal``), so the
        caller can plan from it right away.
        """
        return self.walk_goal_task(seed, offset, self.goal_policy_action)

    def walk_goal_task(self, seed: int, offset: int, policy: Callable[[np.random.Generator], np.ndarray]) -> GoalTask:
        """Reset with ``seed``, walk ``offset`` steps of ``policy(rng) -> (A_env,) action``; the end is the goal.

        ``rng`` is seeded with ``seed``. The env is left at the start state (``return_to_start``) with the
        goal set as its task goal.
        """
        _, info = self.reset(seed=seed)
        start = np.asarray(info["state"]).copy()
        rng = np.random.default_rng(seed)
        for _ in range(offset):
            self.step(policy(rng))
        goal = self.get_state().copy()
        goal_image = self.render()
        self.return_to_start(seed, start)
        self.set_goal(goal)
        return GoalTask(start_state=start, goal_state=goal, goal_image=goal_image, seed=seed, offset=offset)

    def return_to_start(self, seed: int, start: np.ndarray) -> None:
        """Put the env back at ``start`` ((state_dim,)), the state ``reset(seed=seed)`` gave: ``set_state``."""
        self.set_state(start)

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """One action of the policy that walks from a start to a goal: uniform random by default."""
        low, high = self.action_space.low, self.action_space.high
        return rng.uniform(low, high).astype(self.action_space.dtype)
