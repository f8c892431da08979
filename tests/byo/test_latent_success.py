"""The MPC loop attaches latent goals to envs that judge success by latent distance."""

from __future__ import annotations

import numpy as np
import torch
from byo_helpers import adapted
from torch import Tensor
from user_envs import ref

from worldplan.evaluate.goals import sample_goal_task
from worldplan.evaluate.mpc import run_episodes
from worldplan.planners import build_planner


class SlideModel:
    """Exact fake world model of ``user_envs.Slide``: the latent (P=1, D=1) is x decoded from channel 0."""

    def encode(self, frames: Tensor) -> Tensor:
        """(B, T, S, S, 3) uint8 -> (B, T, 1, 1)."""
        return frames[..., 0, 0, :1].float().div(100).sub(1).unsqueeze(-2)

    def rollout(self, z_context: Tensor, actions: Tensor, *, last_only: bool = False) -> Tensor:
        """(B, T, 1, 1), (B, N, H, 1) -> (B, N, H, 1, 1) (H = 1 with ``last_only``)."""
        x = z_context[:, -1, 0, 0][:, None, None]  # (B, 1, 1)
        z = (x + 0.1 * actions.cumsum(dim=2)).clamp(-1, 1).unsqueeze(-1)
        return z[:, :, -1:] if last_only else z


def test_latent_success_ends_the_episode_at_the_first_frame_below_the_threshold():
    env = adapted("Slide", latent_threshold=0.2)
    task = sample_goal_task(env, 2, 6, source="policy", params={"policy": ref("push_right")})
    planner = build_planner("cem", horizon=3, num_samples=64, num_elites=8, iterations=4,
                            action_low=torch.tensor([-1.0]), action_high=torch.tensor([1.0]), seed=0)
    [result] = run_episodes([env], [task], planner, SlideModel(), frameskip=1, max_env_steps=20)
    x = result.frames[:, 0, 0, 0].astype(np.float64) / 100 - 1  # decoded position of every frame
    distance = (x - task.goal_state[0]) ** 2  # the l2 latent distance of each frame to the goal
    below = np.flatnonzero(distance[1:] <= 0.2 * distance[0]) + 1
    assert result.success and result.steps == below[0]
