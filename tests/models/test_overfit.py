"""A tiny action-conditioned predictor learns a tiny synthetic dynamics (the model can learn at all)."""

from __future__ import annotations

import torch
from model_fixtures import tiny_predictor

from worldplan.models import smooth_l1


def _dataset() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """4 clips of 4 frames: every patch moves by a linear function of the step's action.

    Returns:
        z (4, 4, 16, 32) features, times (4, 4) seconds, actions (4, 3, 4).
    """
    gen = torch.Generator().manual_seed(0)
    frames = [torch.randn(4, 16, 32, generator=gen)]
    actions = torch.randn(4, 3, 4, generator=gen)
    effect = torch.randn(4, 32, generator=gen) * 0.5
    for k in range(3):
        frames.append(frames[-1] + (actions[:, k] @ effect)[:, None, :])
    return torch.stack(frames, 1), torch.arange(4).float().mul(0.2).expand(4, 4), actions


def test_tiny_predictor_overfits_tiny_dataset_by_more_than_10x_in_300_steps() -> None:
    z, times, actions = _dataset()
    predictor = tiny_predictor(seed=0, action_dim=4)
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(300):
        loss = smooth_l1(predictor(z, times, actions), z[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10
