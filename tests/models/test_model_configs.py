"""Encoder and predictor config groups: every option composes, names a real model, and the tiny
preset builds a world model that runs one rollout step."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

import worldplan.configs
from worldplan.config import compose
from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel
from worldplan.models.predictor import ARCH_KEYS

CONFIGS = Path(worldplan.configs.__file__).parent
ENCODER_KEYS = {"model", "weights", "image_size", "pool", "dtype", "allow_download", "arch", "batch_size"}


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "encoder").glob("*.yaml")))
def test_every_encoder_option_names_a_timm_dinov2_and_a_valid_size(name: str) -> None:
    cfg = compose("config", [f"encoder={name}"]).encoder
    assert set(cfg) == ENCODER_KEYS and timm.is_model(cfg.model) and "dinov2" in cfg.model
    assert cfg.image_size % 14 == 0


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "predictor").glob("*.yaml")))
def test_every_predictor_option_has_exactly_the_architecture_keys(name: str) -> None:
    cfg = compose("config", [f"predictor={name}"]).predictor
    assert set(cfg) == set(ARCH_KEYS) and cfg.width % cfg.heads == 0


def test_cpu_default_encoder_gives_64_patches_of_384() -> None:
    cfg = compose("config", ["encoder.weights=random", "encoder.dtype=fp32"]).encoder
    encoder = FrozenEncoder.from_config(cfg)
    assert (encoder.num_patches, encoder.dim) == (64, 384)


def test_tiny_preset_builds_a_world_model_that_rolls_out() -> None:
    cfg = compose("config", ["preset=tiny"])
    encoder = FrozenEncoder.from_config(cfg.encoder)
    predictor = Predictor.from_config(cfg.predictor, feature_dim=encoder.dim, grid=encoder.grid, action_dim=4)
    model = WorldModel(predictor=predictor, window=DataWindow(frameskip=2), encoder=encoder)
    z = model.encode(torch.zeros(1, 3, 64, 64, 3, dtype=torch.uint8))
    with torch.no_grad():
        assert model.rollout(z, torch.zeros(1, 2, 1, 4)).shape == (1, 2, 1, 16, 32)
