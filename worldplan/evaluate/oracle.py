"""The oracle model: a perfect predictor built from simulator copies and the same frozen encoder.

Axis legend: B episodes, N candidates, T context frames, H horizon (model steps), P patches,
D feature size, A action size of one model step (= frameskip x A_env), S image side.

The oracle has the world-model interface (``encode``, ``rollout``), so it runs through the same MPC
loop, cost and planner as a learned model: its rollout puts one cloned env per episode at the true
current state, steps each candidate's actions, renders the frame after every model step and encodes
all frames with the given encoder. What it achieves bounds what any predictor can achieve with that
encoder, cost and planner budget. It needs the true states, handed over by the loop through
``set_true_states`` before each plan; the ``z_context`` passed to ``rollout`` is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from worldplan.envs import make_env
from worldplan.envs.base import GoalEnv


class OracleModel:
    """Roll candidate actions out in simulator copies and encode the rendered frames.

    Args:
        env_id: Gymnasium id of the evaluated env (e.g. "worldplan/Wall-v0").
        env_kwargs: the keyword arguments the evaluated envs were made with.
        encoder: ``frames (B, T, S, S, 3) uint8 -> (B, T, P, D)``, the encoder the cost is computed with.
        frameskip: env steps per model step.
        encode_batch: frames encoded per encoder call.
        device: where the rendered frames are sent for encoding.
    """

    def __init__(
        self,
        *,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        encoder: Callable[[Tensor], Tensor],
        frameskip: int,
        encode_batch: int = 256,
        device: str | torch.device = "cpu",
    ) -> None:
        if frameskip < 1 or encode_batch < 1:
            raise ValueError(f"frameskip ({frameskip}) and encode_batch ({encode_batch}) must be >= 1")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.encoder = encoder
        self.frameskip = frameskip
        self.encode_batch = encode_batch
        self.device = torch.device(device)
        self._wrapped: list[gym.Env] = []
        self._copies: list[GoalEnv] = []
        self._states: list[np.ndarray] = []

    def set_true_states(self, states: Sequence[np.ndarray]) -> None:
        """Plan the next ``rollout`` from these true states, one (state_dim,) array per episode."""
        self._states = [np.array(state, copy=True) for state in states]

    def _ensure_copies(self, count: int) -> None:
        """Make simulator copies until there are ``count``: at the first rollout, so a plan that never
        rolls out (the random baseline, which holds an oracle for its encoder) makes none."""
        while len(self._copies) < count:
            env = make_env(self.env_id, self.env_kwargs)
            env.reset(seed=len(self._copies))
            self._wrapped.append(env)
            self._copies.append(env.unwrapped)
            if not getattr(env.unwrapped, "can_set_state", True):
                raise ValueError(f"the oracle needs an env that can be set to any state, and {self.env_id} cannot "
                                 "(give it the state protocol: get_state/set_state)")

    def encode(self, frames: Tensor) -> Tensor:
        """(B, T, S, S, 3) uint8 -> (B, T, P, D) with the oracle's encoder."""
        return self.encoder(frames)

    def rollout_frames(self, actions: Tensor, *, last_only: bool = False) -> np.ndarray:
        """Step every candidate from its episode's true state in a simulator copy.

        Only the frames returned are rendered (``GoalEnv.advance`` steps without rendering): rendering
        costs more than the dynamics in every shipped env.

        Args:
            actions: (B, N, H, A) in env units, A = frameskip x A_env.
            last_only: return only the frame after the last model step.

        Returns:
            (B, N, H', S, S, 3) uint8: the observation after each model step (H' = H), or after the
            last one (H' = 1).
        """
        batch, num, horizon, _ = actions.shape
        if batch != len(self._states):
            raise ValueError(
                f"oracle rollout got {batch} episodes but {len(self._states)} true states; call "
                "set_true_states with the states of the episodes being planned"
            )
        self._ensure_copies(batch)
        env_actions = actions.detach().float().cpu().numpy().reshape(batch, num, horizon, self.frameskip, -1)
        frames: list[np.ndarray] = []
        for b, (env, state) in enumerate(zip(self._copies, self._states)):
            dtype = env.action_space.dtype
            for n in range(num):
                env.set_state(state)
                for h in range(horizon):
                    for j in range(self.frameskip):
                        env.advance(env_actions[b, n, h, j].astype(dtype))
                    if not last_only or h == horizon - 1:
                        frames.append(np.asarray(env.render()))
        return np.stack(frames).reshape(batch, num, -1, *frames[0].shape)

    def rollout(self, z_context: Tensor, actions: Tensor, *, last_only: bool = False) -> Tensor:
        """Latents of the true future frames of every candidate (``z_context`` is not used).

        Args:
            z_context: (B, T, P, D), ignored: the oracle starts from the true states.
            actions: (B, N, H, A) in env units.
            last_only: render and encode only the frame after the last step.

        Returns:
            (B, N, H', P, D) encoded in chunks of ``encode_batch`` frames; H' = 1 with ``last_only``, else H.
        """
        frames = torch.from_numpy(self.rollout_frames(actions, last_only=last_only))  # (B, N, H', S, S, 3)
        flat = frames.reshape(-1, 1, *frames.shape[3:])  # (B*N*H, 1, S, S, 3)
        with torch.no_grad():
            chunks = [self.encoder(chunk.to(self.device))[:, 0] for chunk in flat.split(self.encode_batch)]
        z = torch.cat(chunks)  # (B*N*H, P, D)
        return z.reshape(*frames.shape[:3], *z.shape[1:])

    def close(self) -> None:
        """Close the simulator copies."""
        for env in self._wrapped:
            env.close()
        self._wrapped, self._copies, self._states = [], [], []
