"""Tutorial user code (docs/tutorial-own-env.md): Gymnasium's Pendulum with the state protocol, and a
success function. worldplan ships neither; the tutorial names them as ``docs/examples/pendulum.py:<name>``.
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv


class SettablePendulum(PendulumEnv):
    """Pendulum-v1 whose state (angle in radians, 0 = upright; angular velocity in rad/s) can be read and set."""

    def get_state(self) -> np.ndarray:
        """(2,) float32: angle, angular velocity."""
        return np.asarray(self.state, dtype=np.float32)

    def set_state(self, state: np.ndarray) -> None:
        """Put the pendulum at ``state`` (as returned by ``get_state``)."""
        self.state = np.asarray(state, dtype=np.float64).copy()


def near(state: np.ndarray, goal_state: np.ndarray) -> bool:
    """Success: within 0.3 rad (17 degrees) of the goal angle and 1 rad/s of its angular velocity, so
    swinging through the goal angle does not count."""
    angle = (float(state[0]) - float(goal_state[0]) + np.pi) % (2 * np.pi) - np.pi
    return abs(angle) < 0.3 and abs(float(state[1]) - float(goal_state[1])) < 1.0
