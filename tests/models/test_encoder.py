"""FrozenEncoder: shapes, preprocessing checks, pooling, frozen state, identity."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import tiny_encoder


def _frames(*lead: int, side: int = 64, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (*lead, side, side, 3), generator=gen, dtype=torch.uint8)


def test_output_is_patches_by_features_with_leading_axes_kept() -> None:
    z = tiny_encoder()(_frames(2, 3))
    assert z.shape == (2, 3, 16, 32) and z.dtype == torch.float32


def test_batches_of_frames_encode_like_single_frames() -> None:
    enc, frames = tiny_encoder(batch_size=2), _frames(5)
    one_by_one = torch.stack([enc(f) for f in frames])
    torch.testing.assert_close(enc(frames), one_by_one, rtol=1e-5, atol=1e-5)


def test_class_and_register_tokens_are_dropped() -> None:
    enc = tiny_encoder(model="vit_small_patch14_reg4_dinov2")
    assert enc.vit.num_prefix_tokens == 5
    assert enc(_frames(1)).shape == (1, 16, 32)


def test_pool_one_is_the_mean_of_all_patches() -> None:
    frames = _frames(2)
    full, pooled = tiny_encoder()(frames), tiny_encoder(pool=1)(frames)
    assert pooled.shape == (2, 1, 32)
    torch.testing.assert_close(pooled[:, 0], full.mean(1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [50, 0, 57])
def test_image_size_not_a_multiple_of_14_is_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 14"):
        tiny_encoder(image_size=size)


def test_pool_larger_than_grid_is_rejected() -> None:
    with pytest.raises(ValueError, match="pool"):
        tiny_encoder(pool=5)


def test_unknown_model_name_lists_dinov2_options() -> None:
    with pytest.raises(ValueError, match="vit_small_patch14_dinov2"):
        tiny_encoder(model="vit_nonexistent_dinov2")


@pytest.mark.parametrize(
    "frames", [torch.zeros(1, 64, 64, 3), torch.zeros(1, 64, 48, 3, dtype=torch.uint8),
               torch.zeros(1, 64, 64, 4, dtype=torch.uint8)],
    ids=["float", "not-square", "four-channels"],
)
def test_frames_that_are_not_square_uint8_rgb_are_rejected(frames: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="frames must be"):
        tiny_encoder()(frames)


def test_encoder_is_frozen_and_stays_in_eval_mode() -> None:
    enc = tiny_encoder()
    enc.train()
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())


def test_random_weights_are_seeded_and_recorded_in_identity() -> None:
    frames = _frames(1)
    a, b = tiny_encoder(), tiny_encoder()
    assert torch.equal(a(frames), b(frames))
    assert a.identity()["weights"] == "random" and a.identity()["weights_sha256"] is None


def test_identity_is_json_and_describes_the_features() -> None:
    ident = tiny_encoder(pool=2).identity()
    assert ident["grid"] == [2, 2] and ident["dim"] == 32 and ident["image_size"] == 56 and ident["dtype"] == "fp32"


def test_cache_key_differs_when_the_features_differ() -> None:
    keys = {tiny_encoder().cache_key(), tiny_encoder(pool=2).cache_key(), tiny_encoder(dtype="bf16").cache_key()}
    assert len(keys) == 3


def test_bf16_features_are_close_to_fp32() -> None:
    frames = _frames(2)
    fp32, bf16 = tiny_encoder()(frames), tiny_encoder(dtype="bf16")(frames)
    assert (bf16 - fp32).norm() / fp32.norm() < 0.05


@pytest.mark.parametrize("amx", [True, False])
def test_auto_dtype_is_bf16_on_cpu_only_with_amx(monkeypatch: pytest.MonkeyPatch, amx: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert tiny_encoder(dtype="auto").identity()["dtype"] == ("bf16" if amx else "fp32")
