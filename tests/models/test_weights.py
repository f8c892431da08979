"""Encoder weight lookup: local files, the torch hub and Hugging Face caches, and the not-found error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_fixtures import tiny_encoder
from safetensors.torch import save_file

from worldplan.models.weights import WeightsNotFoundError, file_sha256, load_into, locate_weights, read_state_dict


def _facebook_state(enc) -> dict[str, torch.Tensor]:
    """The tiny encoder's weights under facebookresearch/dinov2 key names (with mask_token)."""
    state = {k: v.clone() for k, v in enc.vit.state_dict().items()}
    state["mask_token"] = torch.zeros(1, enc.dim)
    return state


def test_missing_weights_error_lists_every_place_and_the_remedies(empty_caches: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as err:
        tiny_encoder(weights="auto", arch=None, image_size=56)
    message = str(err.value)
    assert str(empty_caches / "hf") in message
    assert str(empty_caches / "torch" / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth") in message
    for remedy in ("encoder.weights=/path", "encoder.weights=random", "unset HF_HUB_OFFLINE"):
        assert remedy in message


def test_auto_weights_with_architecture_overrides_are_refused() -> None:
    with pytest.raises(ValueError, match="encoder.arch"):
        tiny_encoder(weights="auto")


def test_torch_hub_cache_file_with_facebook_names_is_found_and_converted(empty_caches: Path) -> None:
    source = tiny_encoder()
    path = empty_caches / "torch" / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth"
    path.parent.mkdir(parents=True)
    torch.save(_facebook_state(source), path)
    target = tiny_encoder(image_size=56)
    found = locate_weights(target.vit, allow_download=False)
    assert found.path == path and found.source.startswith("torch-hub-cache")
    torch.nn.init.zeros_(target.vit.patch_embed.proj.weight)
    load_into(target.vit, read_state_dict(found.path), origin=str(found.path))
    assert torch.equal(target.vit.patch_embed.proj.weight, source.vit.patch_embed.proj.weight)


def test_hugging_face_cache_snapshot_is_found(empty_caches: Path) -> None:
    repo = empty_caches / "hf" / "models--timm--vit_small_patch14_dinov2.lvd142m"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    save_file(tiny_encoder().vit.state_dict(), str(snapshot / "model.safetensors"))
    found = locate_weights(tiny_encoder().vit, allow_download=False)
    assert found.path == snapshot / "model.safetensors" and found.source.startswith("hf-cache")


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_weights_file_loads_and_its_hash_is_the_identity(tmp_path: Path, suffix: str) -> None:
    source = tiny_encoder()
    with torch.no_grad():
        source.vit.patch_embed.proj.weight.mul_(2.0)
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file(source.vit.state_dict(), str(path))
    else:
        torch.save({"model": _facebook_state(source)}, path)
    enc = tiny_encoder(weights=str(path))
    frames = torch.randint(0, 256, (1, 56, 56, 3), dtype=torch.uint8)
    assert torch.equal(enc(frames), source(frames))
    assert enc.identity()["weights_sha256"] == file_sha256(path) and enc.identity()["weights"] == f"file:{path}"


def test_weights_file_of_another_architecture_names_the_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file(tiny_encoder(arch={"embed_dim": 48, "depth": 2, "num_heads": 2}).vit.state_dict(), str(path))
    with pytest.raises(ValueError, match=r"shape mismatches .*qkv.weight: file \(144, 48\) vs model \(96, 32\)"):
        tiny_encoder(weights=str(path))


def test_missing_weights_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        tiny_encoder(weights=str(tmp_path / "nope.pth"))


def test_unknown_weights_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=".safetensors"):
        tiny_encoder(weights=str(path))


def test_a_pickled_model_as_encoder_weights_names_the_file_and_never_advises_unsafe_loading(tmp_path: Path) -> None:
    path = tmp_path / "whole_model.pth"
    torch.save(torch.nn.Linear(2, 2), path)  # a whole module, not a state dict
    with pytest.raises(ValueError, match="whole_model.pth is not a torch file of plain tensors") as err:
        tiny_encoder(weights=str(path))
    assert "weights_only" not in str(err.value)


def test_a_pickle_renamed_to_safetensors_as_encoder_weights_is_named(tmp_path: Path) -> None:
    path = tmp_path / "renamed.safetensors"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="renamed.safetensors is a torch pickle"):
        tiny_encoder(weights=str(path))
