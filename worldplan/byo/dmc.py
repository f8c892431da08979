"""dm_control suite tasks as Gymnasium envs, by name: ``dmc:<domain>-<task>`` (e.g. ``dmc:cartpole-swingup``).

The task's ``Environment`` does the stepping (its reward is kept as the env reward); the state is the
full physics state (``physics.get_state()``: qpos, qvel, act) and ``set_state`` writes it back, so
every goal source works without a user wrapper. Frames come from ``physics.render`` with shadows and
multisampling off (3-4x faster headless).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

PREFIX = "dmc:"


def parse_task(name: str) -> tuple[str, str]:
    """``"cartpole-swingup"`` (or ``"dmc:cartpole-swingup"``) -> ``("cartpole", "swingup")``.

    Raises:
        ValueError: not ``<domain>-<task>``, or not a task of the dm_control suite (lists the domain's tasks).
    """
    from dm_control import suite

    domain, sep, task = name.removeprefix(PREFIX).partition("-")
    if not sep or not domain or not task:
        raise ValueError(f"dm_control env {name!r}: write dmc:<domain>-<task>, e.g. dmc:cartpole-swingup")
    if (domain, task) not in suite.ALL_TASKS:
        known = sorted(t for d, t in suite.ALL_TASKS if d == domain)
        hint = f"tasks of {domain!r}: {known}" if known else f"domains: {sorted({d for d, _ in suite.ALL_TASKS})}"
        raise ValueError(f"dm_control has no task {domain}-{task}; {hint}")
    return domain, task


class DmcEnv(gym.Env):
    """A dm_control suite task through the Gymnasium API.

    - Observation: the task's observation dict flattened to one float32 vector.
    - Action: the task's bounded action spec as a float32 Box.
    - State: ``physics.get_state()`` as float32, settable with ``set_state``.
    - Control rate: ``1 / control_timestep`` frames per second (``metadata["render_fps"]``).

    Args:
        task: ``"<domain>-<task>"``.
        render_size: side of the square rendered frames, in pixels.
        camera_id: the camera to render from.
        render_mode: only ``"rgb_array"``.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 100}

    def __init__(self, task: str, *, render_size: int = 64, camera_id: int = 0,
                 render_mode: str | None = "rgb_array") -> None:
        from dm_control import suite

        domain, name = parse_task(task)
        self._env = suite.load(domain, name)
        physics = self._env.physics
        physics.model.vis.quality.shadowsize = 0
        physics.model.vis.quality.offsamples = 0
        physics.model.vis.global_.offwidth = max(int(physics.model.vis.global_.offwidth), render_size)
        physics.model.vis.global_.offheight = max(int(physics.model.vis.global_.offheight), render_size)
        self.render_mode, self.render_size, self.camera_id = render_mode, int(render_size), int(camera_id)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": 1.0 / self._env.control_timestep()}
        spec = self._env.action_spec()
        self.action_space = spaces.Box(spec.minimum.astype(np.float32), spec.maximum.astype(np.float32),
                                       dtype=np.float32)
        size = sum(int(np.prod(v.shape)) for v in self._env.observation_spec().values())
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)

    @staticmethod
    def _flatten(observation: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(v, np.float32).reshape(-1) for v in observation.values()])

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Reset the task; ``seed`` reseeds the task's random initial state."""
        super().reset(seed=seed)
        if seed is not None:
            self._env.task.random.seed(seed)
        return self._flatten(self._env.reset().observation), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One control step; the task's time limit ends an episode as truncation."""
        time_step = self._env.step(np.asarray(action, np.float64))
        last = time_step.last()
        terminated = bool(last and time_step.discount == 0)
        return (self._flatten(time_step.observation), float(time_step.reward or 0.0), terminated,
                bool(last and not terminated), {})

    def render(self) -> np.ndarray:
        """(render_size, render_size, 3) uint8 from ``camera_id``."""
        return self._env.physics.render(self.render_size, self.render_size, camera_id=self.camera_id)

    def get_state(self) -> np.ndarray:
        """The physics state (qpos, qvel, act), float32."""
        return self._env.physics.get_state().astype(np.float32)

    def set_state(self, state: np.ndarray) -> None:
        """Write a physics state (as returned by ``get_state``) and recompute derived quantities."""
        physics = self._env.physics
        state = np.asarray(state, np.float64)
        if state.shape != physics.get_state().shape:
            raise ValueError(f"dm_control state must have shape {physics.get_state().shape}, got {state.shape}")
        with physics.reset_context():
            physics.set_state(state)

    def close(self) -> None:
        """Close the dm_control environment."""
        self._env.close()
