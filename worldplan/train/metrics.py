"""Validation metrics: latent prediction error per rollout step, and the copy-last-frame baseline.

Axis legend: B windows, T context frames, H evaluation horizon (model steps), P patches,
D feature size, A action size of one model step.

For each validation window of T + H frames, the model sees the first T frames' features and the H
actions taken from the last context frame on, rolls out autoregressively with
``WorldModel.rollout`` (its own predictions become context), and its prediction of step h is scored
against the cached features of frame T - 1 + h. The copy-last-frame baseline predicts frame T - 1
for every step. Errors are mean squared errors per feature element, averaged over windows.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from worldplan.models.world_model import WorldModel

__all__ = ["rollout_errors"]


@torch.no_grad()
def rollout_errors(
    model: WorldModel, windows: Dataset, *, context: int, batch_size: int, device: torch.device
) -> dict[str, list[float] | int]:
    """Latent MSE per rollout step of ``model`` and of copying the last context frame.

    Args:
        model: an action-conditioned world model.
        windows: fixed-stride windows of ``context + H`` frames with actions
            (``WindowDataset(..., stride=frameskip, with_actions=True)``).
        context: T, frames given to the model.
        batch_size: windows per rollout call.
        device: where to run.

    Returns:
        ``{"model_mse": [H floats], "copy_last_mse": [H floats], "windows": count}``.
    """
    was_training = model.training
    model.eval()
    model_sum = copy_sum = None
    count = 0
    for batch in DataLoader(windows, batch_size=batch_size, shuffle=False):
        z = batch["z"].to(device).float()  # (B, T + H, P, D)
        horizon = z.shape[1] - context
        if horizon < 1:
            raise ValueError(f"validation windows of {z.shape[1]} frames leave no horizon after {context} context frames")
        actions = batch["actions"].to(device)[:, context - 1 : context - 1 + horizon]  # (B, H, A)
        target = z[:, context:]
        prediction = model.rollout(z[:, :context], actions[:, None])[:, 0]  # (B, H, P, D)
        model_err = (prediction - target).pow(2).mean(dim=(2, 3)).sum(0)  # (H,)
        copy_err = (z[:, context - 1 : context] - target).pow(2).mean(dim=(2, 3)).sum(0)
        model_sum = model_err if model_sum is None else model_sum + model_err
        copy_sum = copy_err if copy_sum is None else copy_sum + copy_err
        count += z.shape[0]
    model.train(was_training)
    if count == 0:
        raise ValueError("no validation windows: use more validation episodes or a shorter window")
    return {
        "model_mse": (model_sum / count).tolist(),
        "copy_last_mse": (copy_sum / count).tolist(),
        "windows": count,
    }
