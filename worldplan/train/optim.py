"""Optimiser and learning-rate schedule for the trainer."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["build_optimizer", "lr_at"]


def build_optimizer(model: nn.Module, *, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW over the trainable parameters: weight decay on matrices (ndim >= 2) only, none on
    biases, norms, LayerScale gains and embeddings of one vector. Frozen parameters are left out."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: check the fine-tuning mode")
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=betas)


def lr_at(step: int, *, lr: float, steps: int, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warmup from ``lr / warmup_steps`` to ``lr`` over ``warmup_steps``, then cosine decay
    to ``lr * min_lr_ratio`` at ``steps``. ``step`` counts from 0."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
