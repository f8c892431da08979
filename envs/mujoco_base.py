"""Shared machinery of the MuJoCo goal envs: an exact float32 state, substepping and fast rendering.

The env's state is ``concat(qpos, qvel)`` kept as float32 between steps. Every step writes that state
into ``MjData``, applies the action as ``ctrl`` for ``n_substeps`` physics steps, and reads the result
back rounded to float32 (solver warm-starting is disabled). So the next step depends on the returned
state alone, and ``set_state(get_state())`` reproduces every later frame bit for bit, which the
oracle planner of the evaluation relies on.

Importing this module loads ``triton`` (when installed) before anything can initialise EGL: Mesa's
software EGL driver links its own LLVM, and a ``triton`` import after it (which torch makes lazily, e.g.
through torchvision) binds to that LLVM's symbols and segfaults. Loaded in the other order both work.
"""

from __future__ import annotations

import abc
import atexit
import importlib.util
import weakref
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from worldplan.envs.base import GoalEnv, finite_array, validate_image_size, validate_render_mode
from worldplan.envs.goal_policies import GoalPolicy

if importlib.util.find_spec("triton") is not None:
    import triton  # noqa: F401  (see the module docstring: must precede EGL)

# Envs holding a renderer. MuJoCo's EGL backend terminates its display at exit; renderers collected
# after that raise noisy errors, so they are closed by an exit hook registered after MuJoCo's own
# (exit hooks run last-registered first).
_LIVE_RENDERING_ENVS: "weakref.WeakSet[MujocoGoalEnv]" = weakref.WeakSet()
_exit_hook_registered = False


def _close_live_renderers() -> None:
    for env in list(_LIVE_RENDERING_ENVS):
        env.close()


def _track_renderer(env: "MujocoGoalEnv") -> None:
    global _exit_hook_registered
    _LIVE_RENDERING_ENVS.add(env)
    if not _exit_hook_registered:
        atexit.register(_close_live_renderers)
        _exit_hook_registered = True


class MujocoGoalEnv(GoalEnv):
    """A GoalEnv over one ``MjModel``: state (qpos, qvel) float32, actions = ``ctrl`` in its range.

    Subclasses build the model, call this constructor with their goal policy and implement
    ``sample_start_state`` and ``state_distance``. Rendering uses one ``mujoco.Renderer`` (created
    on first use) with shadows, reflections and multisampling off.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        *,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        camera: str,
        n_substeps: int,
        goal_policy: GoalPolicy,
        image_size: int = 64,
        render_mode: str | None = "rgb_array",
    ) -> None:
        self.image_size = validate_image_size(image_size)
        self.render_mode = validate_render_mode(render_mode)
        self.model, self.data, self.camera, self.n_substeps = model, data, camera, n_substeps
        model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_WARMSTART
        model.vis.quality.shadowsize = 0
        model.vis.quality.offsamples = 0
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.image_size)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.image_size)
        self.observation_space = spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        low, high = model.actuator_ctrlrange.T.astype(np.float32)
        self.action_space = spaces.Box(low, high, dtype=np.float32)
        self._renderer: mujoco.Renderer | None = None
        self._state = np.concatenate([data.qpos, data.qvel]).astype(np.float32)
        self._goal_policy = goal_policy

    @abc.abstractmethod
    def sample_start_state(self) -> np.ndarray:
        """A start state ((nq + nv,) float32) drawn with ``self.np_random``."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at ``sample_start_state()``. Returns (observation, info with the state)."""
        super().reset(seed=seed)
        self.set_state(self.sample_start_state())
        self._goal_policy.reset()
        return self.render(), {"state": self.get_state()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` (clipped to the control range) for ``n_substeps`` physics steps."""
        state = self.advance(action)
        return self.render(), self.task_reward(state), False, False, {"state": self.get_state()}

    def advance(self, action: np.ndarray) -> np.ndarray:
        """``step`` without rendering: simulate, round the state to float32, return it."""
        self.data.ctrl[:] = self.check_action(action)
        for _ in range(self.n_substeps):
            mujoco.mj_step(self.model, self.data)
        state = np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float32)
        self.set_state(state)
        return self.get_state()

    def get_state(self) -> np.ndarray:
        """(nq + nv,) float32: joint positions, then joint velocities."""
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        """Write ``state`` ((nq + nv,) float32) into the simulator and update its kinematics."""
        array = finite_array(state, (self.model.nq + self.model.nv,), f"{type(self).__name__} state")
        self._state = array.copy()
        self.data.qpos[:] = array[: self.model.nq]
        self.data.qvel[:] = array[self.model.nq :]
        mujoco.mj_forward(self.model, self.data)

    def goal_policy_action(self, rng: np.random.Generator) -> np.ndarray:
        """One action of the subclass's goal policy from the current state."""
        return self._goal_policy(rng, self.get_state())

    def render(self) -> np.ndarray:
        """The current state seen from ``camera``: (S, S, 3) uint8."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.image_size, self.image_size)
            for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION):
                self._renderer.scene.flags[flag] = False
            _track_renderer(self)
        self._renderer.update_scene(self.data, camera=self.camera)
        return self._renderer.render()

    def close(self) -> None:
        """Free the renderer's GL context (safe to call twice)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
