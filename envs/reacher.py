"""Reacher: dm_control's two-link planar ``reacher-easy`` arm through the Gymnasium API.

The suite task is loaded with ``dm_control.suite.load`` for its model; stepping, state and rendering
go through the shared MuJoCo machinery (``MujocoGoalEnv``) instead of the dm_control ``Environment``,
so there is no time limit and the suite's random target is replaced by a goal arm pose. The suite's
target sphere is made invisible: the goal lives in the goal image, not in the scene.
"""

from __future__ import annotations

import numpy as np

from worldplan.envs.goal_policies import HeldRandomAction
from worldplan.envs.mujoco_base import MujocoGoalEnv

UPPER_ARM = 0.12  # shoulder to wrist (reacher.xml: body "hand" at .12)
FOREARM = 0.12  # wrist to fingertip (reacher.xml: body "finger" at .12)
WRIST_LIMIT = np.deg2rad(160.0)
FINGER_TOUCH = 0.06  # easy target radius .05 + finger radius .01: where reacher-easy's reward is 1


def fingertip(state: np.ndarray) -> np.ndarray:
    """Fingertip (x, y) in metres from the shoulder for a state (shoulder, wrist, ...): (..., 2)."""
    state = np.asarray(state, dtype=np.float64)
    shoulder, elbow = state[..., 0], state[..., 0] + state[..., 1]
    x = UPPER_ARM * np.cos(shoulder) + FOREARM * np.cos(elbow)
    y = UPPER_ARM * np.sin(shoulder) + FOREARM * np.sin(elbow)
    return np.stack([x, y], axis=-1)


class ReacherEnv(MujocoGoalEnv):
    """dm_control ``reacher-easy``: reach a goal arm pose, pixels from the suite's ``fixed`` camera.

    - State: (shoulder, wrist, shoulder velocity, wrist velocity) float32, radians and rad/s; the
      shoulder is unlimited, the wrist limited to +-160 degrees.
    - Action: (2,) float32 joint torques in [-1, 1]^2 (the suite's motors); one step is one 0.02 s
      physics step (50 steps per second, the suite's control rate).
    - Starts: shoulder uniform in [-pi, pi], wrist uniform in its range, at rest.
    - Success: the fingertip lies within 0.06 m of the goal pose's fingertip (the radius at which
      ``reacher-easy`` gives full reward: target .05 + finger .01); ``state_distance`` is that
      fingertip distance in metres (forward kinematics, no simulator call).
    - Goal policy: a random torque held for 10 to 25 steps; 25-step goals lie a median 0.12 m from
      the start (19 % within the success threshold, seeds 0-199).
    - Proprioception: the whole state, joint angles and velocities (shoulder, wrist, their velocities).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    success_threshold = FINGER_TOUCH
    proprio_indices = (0, 1, 2, 3)

    def __init__(self, image_size: int = 64, render_mode: str | None = "rgb_array") -> None:
        from dm_control import suite  # after mujoco_base: importing dm_control initialises EGL

        physics = suite.load("reacher", "easy").physics
        model, data = physics.model.ptr, physics.data.ptr
        model.geom_rgba[physics.model.name2id("target", "geom"), 3] = 0.0
        low, high = model.actuator_ctrlrange.T
        super().__init__(
            model=model,
            data=data,
            camera="fixed",
            n_substeps=1,
            goal_policy=HeldRandomAction(low=low, high=high, min_hold=10, max_hold=25),
            image_size=image_size,
            render_mode=render_mode,
        )
        self._physics = physics  # owns model and data
        self.set_state(np.zeros(4, dtype=np.float32))

    def sample_start_state(self) -> np.ndarray:
        """(shoulder, wrist, 0, 0) with the shoulder uniform in [-pi, pi] and the wrist in its range."""
        shoulder = self.np_random.uniform(-np.pi, np.pi)
        wrist = self.np_random.uniform(-WRIST_LIMIT, WRIST_LIMIT)
        return np.array([shoulder, wrist, 0.0, 0.0], dtype=np.float32)

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """Distance between the two poses' fingertips, in metres."""
        return float(np.linalg.norm(fingertip(state) - fingertip(goal_state)))
