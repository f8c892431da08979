"""The viewing-only pixel decoder: shapes and range, a bit-exact save/load round trip, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_fixtures import DIM, GRID, features, tiny_encoder, tiny_world_model

from worldplan.models import CheckpointError, read_checkpoint_meta, save_checkpoint
from worldplan.models.decoder import PatchDecoder, load_decoder, read_decoder_meta, save_decoder


def _decoder(image_size: int = 28) -> PatchDecoder:
    torch.manual_seed(0)
    return PatchDecoder(feature_dim=DIM, grid=GRID, image_size=image_size, width=8)


@pytest.mark.parametrize("image_size", [28, 30])  # 30: the folded 4 x 8 px map is resized to the frame
def test_decoder_maps_patch_features_to_frames_in_range(image_size):
    decoder = _decoder(image_size)
    z = features(2, 3, GRID[0] * GRID[1], DIM)  # (B, T, P, D)
    rgb = decoder(z)
    assert rgb.shape == (2, 3, image_size, image_size, 3)
    assert rgb.min() >= 0 and rgb.max() <= 1
    frames = decoder.frames(z)
    assert frames.dtype == torch.uint8 and frames.shape == rgb.shape
    with pytest.raises(ValueError, match=r"\(\.\.\., 16, 32\)"):
        decoder(features(2, 9, DIM))


def test_save_load_round_trip_is_bit_exact_and_records_the_encoder(tmp_path: Path):
    decoder, identity = _decoder(), tiny_encoder().identity()
    path = save_decoder(tmp_path / "decoder", decoder, encoder_identity=identity, meta={"steps": 3})
    loaded = load_decoder(path, encoder_identity=identity)
    z = features(4, GRID[0] * GRID[1], DIM, seed=3)
    assert torch.equal(loaded(z), decoder.eval()(z))
    assert not any(p.requires_grad for p in loaded.parameters())
    meta = json.loads((path / "meta.json").read_text())
    assert meta["arch"] == {"feature_dim": DIM, "grid": list(GRID), "image_size": 28, "width": 8}
    assert meta["encoder_identity"]["weights"] == "random" and meta["train"] == {"steps": 3}
    save_decoder(path, _decoder(image_size=30), encoder_identity=identity, meta={})  # replaces the older one
    assert read_decoder_meta(path)["arch"]["image_size"] == 30


def test_a_decoder_of_other_features_or_another_format_is_refused(tmp_path: Path):
    path = save_decoder(tmp_path / "decoder", _decoder(), encoder_identity=tiny_encoder().identity(), meta={})
    with pytest.raises(CheckpointError, match=r"other encoder features \(differs in \['image_size', 'grid'\]\)"):
        load_decoder(path, encoder_identity=tiny_encoder(image_size=84).identity())
    world_model = save_checkpoint(tmp_path / "ckpt", tiny_world_model(encoder=True), meta={})
    with pytest.raises(CheckpointError, match="not a worldplan decoder"):
        read_decoder_meta(world_model)
    with pytest.raises(CheckpointError, match="not a worldplan checkpoint"):
        read_checkpoint_meta(path)
    with pytest.raises(FileNotFoundError, match="worldplan decoder"):
        read_decoder_meta(tmp_path / "missing")
