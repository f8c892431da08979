"""Goal-walking policies shared by the envs: they make ``offset``-step goals that are not trivially close.

A uniform random action changes every step, so its walk mostly cancels out; holding each random action
for a few steps (a random walk with momentum) travels several times further in the same number of
steps and still covers every direction.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class GoalPolicy(Protocol):
    """A stateful walking policy: ``reset()`` on every env reset, then one call per step."""

    def reset(self) -> None:
        """Forget any memory of the previous episode."""

    def __call__(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """The next action ((A_env,) float32 in the action bounds) for the env's true ``state``."""


class HeldRandomAction:
    """A uniform random action in ``[low, high]`` held for a random number of steps, then redrawn.

    The hold length is uniform in ``[min_hold, max_hold]`` steps. The policy keeps its current action
    between calls; the env calls ``reset()`` on every env reset so a seeded walk is reproducible.
    """

    def __init__(self, *, low: np.ndarray, high: np.ndarray, min_hold: int = 3, max_hold: int = 8) -> None:
        if not 1 <= min_hold <= max_hold:
            raise ValueError(f"need 1 <= min_hold <= max_hold, got min_hold={min_hold}, max_hold={max_hold}")
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        self.min_hold = min_hold
        self.max_hold = max_hold
        self._action = np.zeros_like(self.low)
        self._steps_left = 0

    def reset(self) -> None:
        """Forget the held action: the next call draws a fresh one."""
        self._steps_left = 0

    def __call__(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """The next action, (A_env,) float32 inside the bounds; ``state`` plays no part."""
        if self._steps_left == 0:
            self._action = rng.uniform(self.low, self.high).astype(np.float32)
            self._steps_left = int(rng.integers(self.min_hold, self.max_hold + 1))
        self._steps_left -= 1
        return self._action.copy()
