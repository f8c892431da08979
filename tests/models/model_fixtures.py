"""Tiny models shared by the world-model tests: a DINOv2-shaped random encoder and small predictors.

Axis legend: B episodes, N candidates, T frames, H horizon, P patches (16), D features (32), A actions.
"""

from __future__ import annotations

import torch

from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel

TINY_ARCH = {"embed_dim": 32, "depth": 2, "num_heads": 2}
GRID, DIM = (4, 4), 32


def tiny_encoder(**overrides) -> FrozenEncoder:
    """The configs/encoder/tiny.yaml encoder: 56 px -> 4 x 4 patches of 32-d, seeded random weights."""
    kwargs = {"model": "vit_small_patch14_dinov2", "weights": "random", "image_size": 56, "arch": TINY_ARCH,
              "dtype": "fp32"}
    return FrozenEncoder(**{**kwargs, **overrides})


def tiny_predictor(seed: int = 0, **overrides) -> Predictor:
    """A width-32, depth-2 predictor over the tiny encoder's 16 x 32 features."""
    torch.manual_seed(seed)
    kwargs = {"feature_dim": DIM, "grid": GRID, "width": 32, "depth": 2, "heads": 2}
    return Predictor(**{**kwargs, **overrides})


def randomize_action_blocks(predictor: Predictor, seed: int = 1) -> None:
    """Give the zero-initialised action blocks non-zero weights (as after fine-tuning)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in predictor.actions.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)


def tiny_world_model(*, action_dim: int | None = 4, encoder: bool = False, **overrides) -> WorldModel:
    """Tiny world model with frameskip 2 (env actions of size 2 -> A = 4), dt = 0.2 s, and
    non-trivial feature (and, with ``proprio_dim``, proprioception) statistics."""
    predictor = tiny_predictor(action_dim=action_dim, layer_scale=0.5, **overrides)
    if action_dim:
        randomize_action_blocks(predictor)
    patches = GRID[0] * GRID[1]
    predictor.set_feature_statistics(features(patches, DIM, seed=11) * 0.1, features(patches, DIM, seed=12).abs() + 0.5)
    stats = (torch.tensor([0.1, -0.2]), torch.tensor([0.5, 2.0])) if action_dim else None
    proprio = overrides.get("proprio_dim", 0)
    proprio_stats = (torch.linspace(-1, 1, proprio), torch.linspace(0.5, 2, proprio)) if proprio else None
    return WorldModel(predictor=predictor, window=DataWindow(context=3, horizon=3, frameskip=2, fps=10.0),
                      encoder=tiny_encoder() if encoder else None, action_stats=stats, proprio_stats=proprio_stats,
                      frame_size=64 if encoder else None)


def features(*shape: int, seed: int = 0) -> torch.Tensor:
    """Seeded standard-normal features of ``shape``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
