"""Any Gymnasium env as a worldplan ``GoalEnv``: square pixel observations, a true state, goals, success.

``AdaptedGoalEnv`` owns the user's env (``worldplan.byo.inner``) and presents the ``GoalEnv`` contract
(docs/internals.md) on top of it:

- observation: ``env.render()`` resized to ``(S, S, 3)`` uint8;
- state (``info["state"]``, float32 ``(state_dim,)``): ``state`` (``module:function(env) -> array``)
  when given, else the env's ``get_state()`` when it has one, else its own observation, flattened;
- ``set_state``: the env's ``set_state(state)`` (the state protocol, see ``worldplan.byo.inner``). An
  env without it can still be evaluated from its reset states: ``set_state`` of the current state is
  a no-op and goals are walked then replayed from ``reset(seed)``; anything else raises
  ``StateNotSettableError`` saying what to implement;
- success: ``success`` (``module:function(state, goal_state) -> bool``) when given
  (``success_source = "user_function:<ref>"``), else ``success_source = "latent_threshold"``: success
  when the latent distance of the current frame to the goal image falls to ``latent_threshold`` times
  that of the episode's start frame. The evaluation loop attaches the latent distance with
  ``set_latent_goal`` (the planner never sees it);
- ``state_distance``: Euclidean distance between states, in the state's own units;
- reward: ``-state_distance`` to the task goal (as every GoalEnv); the env's own reward is in
  ``info["env_reward"]`` (0 on reset).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from worldplan.byo.callables import load_callable
from worldplan.byo.images import resize_frame
from worldplan.byo.inner import (
    LATENT_THRESHOLD,
    STATE_PROTOCOL_HELP,
    StateNotSettableError,
    find_state_protocol,
    first_frame,
    make_inner_env,
)
from worldplan.envs.base import GoalEnv, validate_image_size, validate_render_mode


def continuous_bounds(space: gym.Space, name: str) -> spaces.Box:
    """``space`` as a float32 Box; raises ValueError unless it is a Box with finite bounds."""
    if not isinstance(space, spaces.Box) or not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        raise ValueError(f"env {name!r} has action space {space}; worldplan plans continuous actions in finite "
                         f"bounds: wrap it so it takes a Box action with finite low/high")
    return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)


class AdaptedGoalEnv(GoalEnv):
    """A user's Gymnasium env as a ``GoalEnv`` (see the module docstring for every definition).

    Args:
        env: the env's name: Gymnasium id, ``module:id``, ``module:Class``, ``file.py:Class`` or
            ``dmc:<domain>-<task>``.
        env_kwargs: keyword arguments of that env.
        image_size: S, side of the square observations; also the render width and height of an env
            whose constructor takes them (Gymnasium's MuJoCo envs, 480 px otherwise), unless
            ``env_kwargs`` set them.
        state: ``module:function(env) -> (state_dim,)`` reading the true state from the user's env.
        success: ``module:function(state, goal_state) -> bool``; None: latent threshold.
        latent_threshold: fraction of the start's latent distance to the goal below which an episode
            succeeds (only without ``success``).
        fps: the env's control rate; None: its ``metadata["render_fps"]``.
        render_mode: only ``"rgb_array"``.
    """

    def __init__(self, *, env: str, env_kwargs: Mapping[str, Any] | None = None, image_size: int = 64,
                 state: str | None = None, success: str | None = None, latent_threshold: float = 0.2,
                 fps: float | None = None, render_mode: str | None = "rgb_array") -> None:
        self.image_size = validate_image_size(image_size)
        self.render_mode = validate_render_mode(render_mode)
        if success is None and not 0 < latent_threshold < 1:
            raise ValueError(f"latent_threshold must be in (0, 1) (a fraction of the start's latent distance), "
                             f"got {latent_threshold}")
        self.name = env
        self.inner = make_inner_env(env, env_kwargs, render_size=self.image_size)
        self.action_space = continuous_bounds(self.inner.action_space, env)
        self.observation_space = spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        self._state_fn = load_callable(state, what="state function") if state else None
        self._getter, self._setter, protocol = find_state_protocol(self.inner)
        self.state_source = f"user_function:{state}" if state else (protocol if self._getter else "observation")
        self.can_set_state = self._setter is not None
        self._success_fn = load_callable(success, what="success function") if success else None
        self.success_source = f"user_function:{success}" if success else LATENT_THRESHOLD
        self.success_threshold = math.nan if success else float(latent_threshold)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": self._control_rate(fps)}
        self._obs: Any = None
        self._frame: np.ndarray | None = None
        self._latent_distance: Callable[[np.ndarray], float] | None = None
        self._latent_start = math.nan

    def _control_rate(self, fps: float | None) -> float:
        rate = fps if fps is not None else self.inner.metadata.get("render_fps")
        if rate is None or not float(rate) > 0:
            raise ValueError(f"env {self.name!r} sets no metadata['render_fps'] (its control rate); give it as "
                             f"env.fps=<frames per second>")
        return float(rate)

    def _observe(self, obs: Any) -> np.ndarray:
        """Record the env's observation, render and resize the frame; returns the (S, S, 3) frame."""
        self._obs = obs
        self._frame = resize_frame(first_frame(self.inner, self.name), self.image_size)
        return self._frame.copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Reset the user's env with ``seed``; ``info["state"]`` is the true state."""
        super().reset(seed=seed)
        obs, _ = self.inner.reset(seed=seed, options=options)
        frame = self._observe(obs)
        return frame, {"state": self.get_state(), "env_reward": 0.0}  # the same info keys as step (Minari needs it)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Step the user's env with ``action`` (clipped to the bounds)."""
        obs, env_reward, terminated, truncated, _ = self.inner.step(self.check_action(action))
        frame = self._observe(obs)
        state = self.get_state()
        info = {"state": state, "env_reward": float(env_reward)}
        return frame, self.task_reward(state), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray:
        """The current (S, S, 3) uint8 frame."""
        if self._frame is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        return self._frame.copy()

    def get_state(self) -> np.ndarray:
        """The true state, (state_dim,) float32, from the configured state source."""
        if self._state_fn is not None:
            raw = self._state_fn(self.inner)
        elif self._getter is not None:
            raw = self._getter()
        else:
            raw = self._obs
        state = np.asarray(raw, dtype=np.float32).reshape(-1)
        if state.size == 0 or not np.all(np.isfinite(state)):
            raise ValueError(f"env {self.name!r}: the state from {self.state_source} is empty or not finite; "
                             f"give env.state=module:function(env) returning a finite 1-D array")
        return state

    def set_state(self, state: np.ndarray) -> None:
        """Put the env in ``state``; without the state protocol only the current state is accepted."""
        state = np.asarray(state, dtype=np.float32)
        if self._setter is None:
            if self._frame is not None and np.array_equal(state, self.get_state()):
                return
            raise StateNotSettableError(f"env {self.name!r} cannot be set to a state: {STATE_PROTOCOL_HELP}")
        self._setter(state)
        self._observe(state if self.state_source == "observation" else self._obs)

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        """Euclidean distance between two states (NaN when the goal state is unknown)."""
        return float(np.linalg.norm(np.asarray(state, np.float64) - np.asarray(goal_state, np.float64)))

    def set_latent_goal(self, distance: Callable[[np.ndarray], float]) -> None:
        """Attach ``distance(frame (S, S, 3) uint8) -> latent distance to the goal``; call at the start state."""
        self._latent_distance = distance
        self._latent_start = float(distance(self.render()))

    def is_success(self, state: np.ndarray, goal_state: np.ndarray) -> bool:
        """The user's success function, or the latent threshold on the current frame (``state`` unused)."""
        if self._success_fn is not None:
            return bool(self._success_fn(np.asarray(state), np.asarray(goal_state)))
        if self._latent_distance is None:
            raise ValueError(f"env {self.name!r} decides success by latent distance (no env.success function) "
                             f"and needs set_latent_goal() from the evaluation loop first")
        return self._latent_distance(self.render()) <= self.success_threshold * self._latent_start

    def return_to_start(self, seed: int, start: np.ndarray) -> None:
        """``set_state(start)``, or, for an env without the state protocol, ``reset(seed)`` again.

        Raises:
            StateNotSettableError: the second reset gave another start state.
        """
        if self.can_set_state:
            self.set_state(start)
            return
        _, info = self.reset(seed=seed)
        if not np.array_equal(info["state"], start):
            raise StateNotSettableError(
                f"reset(seed={seed}) of {self.name} gave another start state the second time, so the start of a "
                f"walked goal cannot be restored without setting the state: {STATE_PROTOCOL_HELP}")

    def close(self) -> None:
        """Close the user's env."""
        self.inner.close()
