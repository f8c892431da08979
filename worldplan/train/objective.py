"""Training objectives: the module the trainer (and DDP) wraps, batch of windows in, loss out.

Axis legend: B windows in a batch, L frames per window, P patches, D feature size, A action size of
one model step.

Both objectives predict every frame of a window from the frames before it in parallel
(block-causal) and score the predictions of frames 1..L-1 with smooth-L1 (beta 0.1) against the
cached features. Pretraining is action-free and uses each window's own timestamps (variable frame
stride); fine-tuning conditions on the window's actions through ``WorldModel.forward`` (which
normalises them and places frames ``dt`` seconds apart, the same spacing as fixed-stride windows).
"""

from __future__ import annotations

import torch
from torch import nn

from worldplan.models.predictor import smooth_l1
from worldplan.models.world_model import WorldModel

__all__ = ["NextFrameObjective"]


class NextFrameObjective(nn.Module):
    """Teacher-forced next-frame prediction loss of a world model.

    Args:
        model: the world model (its predictor is what trains).
        use_actions: condition on ``batch["actions"]`` (fine-tuning) or not (pretraining).
        beta: smooth-L1 transition point.
    """

    def __init__(self, model: WorldModel, *, use_actions: bool, beta: float = 0.1) -> None:
        super().__init__()
        if use_actions and model.action_dim is None:
            raise ValueError("an action-conditioned objective needs a world model built with action_dim")
        self.model, self.use_actions, self.beta = model, use_actions, beta

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Loss () of a batch: ``z`` (B, L, P, D), ``times`` (B, L) seconds, ``actions`` (B, L-1, A)."""
        z = batch["z"].float()
        if self.use_actions:
            prediction = self.model(z, batch["actions"])
        else:
            prediction = self.model.predictor(z, batch["times"])
        return smooth_l1(prediction, z[:, 1:], beta=self.beta)
