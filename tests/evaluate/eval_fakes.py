"""Fakes for the evaluation tests; importing this module registers the Dot env as ``worldplan_test/Dot-v0``.

The Dot env: state (x, y) in [-1, 1]^2, action (2,) in [-1, 1], ``state += 0.1 * action`` (clipped).
Its 4x4 image stores x and y in channels 0 and 1 as ``round((v + 1) * 100)``; the fake model decodes
that exactly (to 0.01) and rolls out the same dynamics, so planning on it is a perfect predictor.
"""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from worldplan.envs.base import GoalEnv

DOT_ID = "worldplan_test/Dot-v0"
SIDE = 4


class DotEnv(GoalEnv):
    """A point that moves by 0.1 x action; success within 0.05 of the goal."""

    success_threshold = 0.05

    def __init__(self, image_size: int = SIDE, render_mode: str = "rgb_array") -> None:
        self.image_size = image_size
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._state = np.zeros(2, np.float32)
        self.calls: Counter[str] = Counter()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.calls["reset"] += 1
        self._state = self.np_random.uniform(-0.5, 0.5, 2).astype(np.float32)
        return self.render(), {"state": self._state.copy()}

    def step(self, action: np.ndarray):
        self.calls["step"] += 1
        self._state = np.clip(self._state + 0.1 * np.asarray(action, np.float32), -1, 1).astype(np.float32)
        return self.render(), 0.0, False, False, {"state": self._state.copy()}

    def get_state(self) -> np.ndarray:
        self.calls["get_state"] += 1
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        self.calls["set_state"] += 1
        self._state = np.asarray(state, np.float32).copy()

    def render(self) -> np.ndarray:
        self.calls["render"] += 1
        image = np.zeros((self.image_size, self.image_size, 3), np.uint8)
        image[..., :2] = np.round((self._state + 1) * 100).astype(np.uint8)
        return image

    def state_distance(self, state: np.ndarray, goal_state: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(state) - np.asarray(goal_state)))


class DotModel:
    """Exact fake world model of the Dot env: latents (P=1, D=2) are the decoded positions."""

    def __init__(self, frameskip: int = 1) -> None:
        self.frameskip = frameskip
        self.rollout_calls = 0

    def encode(self, frames: Tensor) -> Tensor:
        """(B, T, S, S, 3) uint8 -> (B, T, 1, 2)."""
        return frames[..., 0, 0, :2].float().div(100).sub(1).unsqueeze(-2)

    def rollout(self, z_context: Tensor, actions: Tensor, *, last_only: bool = False) -> Tensor:
        """(B, T, 1, 2), (B, N, H, frameskip*2) -> (B, N, H, 1, 2) (H = 1 with ``last_only``)."""
        self.rollout_calls += 1
        batch, num, horizon, _ = actions.shape
        pos = z_context[:, -1, 0][:, None].expand(batch, num, 2)
        out = []
        for step in actions.reshape(batch, num, horizon, self.frameskip, 2).unbind(2):
            for env_action in step.unbind(2):
                pos = (pos + 0.1 * env_action).clamp(-1, 1)
            out.append(pos)
        return torch.stack(out[-1:] if last_only else out, dim=2).unsqueeze(-2)


class SpyPlanner:
    """Wraps a planner; records warm starts and asserts no env method is called while it plans."""

    def __init__(self, planner, envs: list[DotEnv]) -> None:
        self.planner = planner
        self.envs = envs
        self.horizon = planner.horizon
        self.action_low = planner.action_low
        self.needs_gradients = planner.needs_gradients
        self.warm_starts: list[Tensor | None] = []
        self.plans: list[Tensor] = []

    def plan(self, cost_fn, batch_size, warm_start=None):
        before = [Counter(env.calls) for env in self.envs]
        result = self.planner.plan(cost_fn, batch_size, warm_start=warm_start)
        assert [env.calls for env in self.envs] == before, "the planner touched the simulator"
        self.warm_starts.append(None if warm_start is None else warm_start.clone())
        self.plans.append(result.actions.clone())
        return result


if DOT_ID not in gym.registry:
    gym.register(DOT_ID, entry_point=DotEnv)
