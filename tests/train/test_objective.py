"""Validation rollout errors against hand-computed values, with a stub model whose dynamics are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worldplan.data.windows import Track, WindowDataset
from worldplan.train.objective import rollout_errors

FRAMES, P, D = 8, 2, 3


class IntegratorModel(torch.nn.Module):
    """Predicts z_{t+1} = z_t + a_t (first action dimension) for every candidate: exact on the data below."""

    def rollout(self, z_context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        last = z_context[:, None, -1:]  # (B, 1, 1, P, D)
        steps = actions[..., 0].cumsum(2)[..., None, None]  # (B, N, H, 1, 1)
        return last + steps


def track(speed: float) -> Track:
    """z of frame f is speed * f everywhere; every action is speed."""
    z = (speed * np.arange(FRAMES, dtype=np.float16))[:, None, None] * np.ones((1, P, D), np.float16)
    return Track(name=f"speed{speed}", z=z, fps=10.0, actions=np.full((FRAMES - 1, 1), speed, np.float32))


def test_errors_per_step_match_hand_computed_values() -> None:
    windows = WindowDataset([track(1.0), track(3.0)], length=5, stride=1, with_actions=True)  # 4 windows each
    errors = rollout_errors(IntegratorModel(), windows, context=2, batch_size=8, device=torch.device("cpu"))
    h = np.arange(1, 4)
    assert errors["windows"] == 8
    np.testing.assert_allclose(errors["model_mse"], 0.0, atol=1e-6)
    np.testing.assert_allclose(errors["copy_last_mse"], (h**2 * 1 + h**2 * 9) / 2, rtol=1e-6)
    np.testing.assert_allclose(errors["shuffled_actions_mse"], h**2 * 4, rtol=1e-6)  # speeds 1 <-> 3 swapped


def test_windows_without_a_horizon_are_rejected() -> None:
    windows = WindowDataset([track(1.0)], length=3, stride=1, with_actions=True)
    with pytest.raises(ValueError, match="no horizon"):
        rollout_errors(IntegratorModel(), windows, context=3, batch_size=4, device=torch.device("cpu"))
