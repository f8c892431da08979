"""Checkpoints: bit-exact round trip, recorded metadata, clear errors, pretrained initialisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_fixtures import features, tiny_world_model

from worldplan.models import (
    CheckpointError,
    checkpoint,
    load_pretrained_weights,
    load_weights_into,
    load_world_model,
    save_checkpoint,
)
from worldplan.provenance import machine


@pytest.fixture()
def saved(tmp_path: Path):
    model = tiny_world_model(encoder=True)
    path = save_checkpoint(tmp_path / "ckpt", model, meta={"train": {"lr": 3e-4, "steps": 10}})
    return model, path


def test_round_trip_gives_the_same_tensors(saved) -> None:
    model, path = saved
    loaded = load_world_model(path)
    theirs = loaded.state_dict()
    assert model.state_dict().keys() == theirs.keys()
    assert all(torch.equal(v, theirs[k]) for k, v in model.state_dict().items())


def test_round_trip_gives_the_same_outputs(saved) -> None:
    model, path = saved
    loaded = load_world_model(path)
    frames = torch.randint(0, 256, (1, 3, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    actions = features(1, 2, 3, 4, seed=1)
    with torch.no_grad():
        z = model.encode(frames)
        assert torch.equal(loaded.encode(frames), z)
        assert torch.equal(loaded.rollout(z, actions), model.rollout(z, actions))


def test_meta_records_architecture_encoder_window_normalisation_and_caller_meta(saved) -> None:
    model, path = saved
    meta = json.loads((path / "meta.json").read_text())
    assert meta["predictor"]["width"] == 32 and meta["predictor"]["action_dim"] == 4
    assert meta["encoder_identity"]["weights"] == "random" and meta["encoder_in_file"] is True
    assert meta["window"] == {"context": 3, "horizon": 3, "frameskip": 2, "fps": 10.0}
    assert meta["action_normalization"]["std"] == pytest.approx([0.5, 2.0, 0.5, 2.0])
    assert meta["train"] == {"lr": 3e-4, "steps": 10} and meta["frame_size"] == 64
    assert meta["worldplan_version"] and meta["machine"] == machine()


def test_loading_without_the_encoder_keeps_the_predictor(saved) -> None:
    model, path = saved
    loaded = load_world_model(path, with_encoder=False)
    assert loaded.encoder is None
    z, actions = features(1, 3, 16, 32), features(1, 2, 3, 4, seed=1)
    with torch.no_grad():
        assert torch.equal(loaded.rollout(z, actions), model.rollout(z, actions))


def test_saving_again_replaces_the_checkpoint_atomically(saved, tmp_path: Path) -> None:
    model, path = saved
    with torch.no_grad():
        model.predictor.head.bias.fill_(1.0)
    save_checkpoint(path, model, meta={})
    assert torch.equal(load_world_model(path).predictor.head.bias, torch.ones(32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_replacing_a_checkpoint_never_leaves_the_path_without_one(saved, monkeypatch) -> None:
    model, path = saved
    seen: list[bool] = []

    def watched(function):
        def call(*args, **kwargs):
            seen.append((path / "meta.json").is_file() and (path / "model.safetensors").is_file())
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(checkpoint.os, "replace", watched(checkpoint.os.replace))
    monkeypatch.setattr(checkpoint.shutil, "rmtree", watched(checkpoint.shutil.rmtree))
    monkeypatch.setattr(checkpoint, "_exchange", watched(checkpoint._exchange))
    save_checkpoint(path, model, meta={"train": {"steps": 20}})
    assert seen and all(seen)
    assert load_world_model(path) is not None


def test_the_next_save_removes_what_an_interrupted_one_left(saved, tmp_path: Path) -> None:
    model, path = saved
    for name in (".tmp-123-ckpt", ".old-456-ckpt"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".tmp-1-other").mkdir()
    save_checkpoint(path, model, meta={})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-1-other", "ckpt"]


@pytest.mark.parametrize("damage", ["truncated", "pickle"])
def test_a_damaged_model_file_is_named_with_what_is_wrong(saved, damage) -> None:
    _, path = saved
    file = path / "model.safetensors"
    if damage == "truncated":
        file.write_bytes(file.read_bytes()[:100])
    else:
        torch.save({"w": torch.ones(2)}, file)
    expected = "truncated or not a safetensors file" if damage == "truncated" else "a torch pickle"
    with pytest.raises(ValueError, match=f"{file}.* is {expected}") as err:
        load_world_model(path)
    assert "SafetensorError" not in str(err.value)


def test_a_directory_that_is_not_a_checkpoint_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a worldplan checkpoint"):
        save_checkpoint(tmp_path / "notes", tiny_world_model(), meta={})
    assert (tmp_path / "notes" / "keep.txt").exists()


def test_loading_into_another_architecture_names_the_mismatch(saved) -> None:
    _, path = saved
    other = tiny_world_model(width=48, heads=2)
    with pytest.raises(CheckpointError, match="width: checkpoint 32 vs model 48"):
        load_weights_into(other, path)


def test_tensors_that_do_not_fit_are_named(saved) -> None:
    _, path = saved
    other = tiny_world_model(encoder=True)
    other.predictor.register_buffer("extra", torch.zeros(1))
    with pytest.raises(CheckpointError, match=r"missing \['predictor.extra'\]"):
        load_weights_into(other, path)


def test_a_directory_without_meta_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a worldplan checkpoint"):
        load_world_model(tmp_path)


def test_a_missing_checkpoint_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="checkpoint directory not found"):
        load_world_model(tmp_path / "missing")


def test_reserved_meta_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "c", tiny_world_model(), meta={"window": 1})


def test_a_proprio_model_round_trips_with_its_statistics_and_head(tmp_path: Path) -> None:
    model = tiny_world_model(proprio_dim=2)
    path = save_checkpoint(tmp_path / "c", model, meta={})
    loaded = load_world_model(path, with_encoder=False)
    assert json.loads((path / "meta.json").read_text())["proprio_normalization"]["std"] == pytest.approx([0.5, 2.0])
    torch.testing.assert_close(loaded.proprio_mean, torch.tensor([-1.0, 1.0]))
    z, actions, proprio = features(1, 3, 16, 32), features(1, 2, 3, 4, seed=1), features(1, 2, seed=2)
    with torch.no_grad():
        ours, theirs = (m.rollout_with_proprio(z, actions, proprio=proprio) for m in (model, loaded))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_fine_tuning_from_a_pretrained_checkpoint_starts_at_the_pretrained_model(tmp_path: Path) -> None:
    pretrained = tiny_world_model(action_dim=None, encoder=True)
    path = save_checkpoint(tmp_path / "pre", pretrained, meta={})
    conditioned = tiny_world_model(encoder=True)
    with torch.no_grad():
        for block in conditioned.predictor.actions.blocks:
            block.net[-1].weight.zero_()
            block.net[-1].bias.zero_()
    load_pretrained_weights(conditioned, path)
    z, actions = features(1, 3, 16, 32), features(1, 2, 3, 4, seed=1)
    with torch.no_grad():
        expected = pretrained.rollout(z, None, horizon=3).expand(1, 2, 3, 16, 32)
        # equal up to float32 rounding: one candidate's layer-0 query is a matrix-vector product,
        # two candidates' a matrix-matrix product, and the two kernels sum in different orders
        torch.testing.assert_close(conditioned.rollout(z, actions), expected, rtol=0, atol=1e-6)


def test_an_omegaconf_training_config_is_stored_as_plain_json(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    path = save_checkpoint(tmp_path / "c", tiny_world_model(), meta={"train": OmegaConf.create({"lr": 0.1})})
    assert json.loads((path / "meta.json").read_text())["train"] == {"lr": 0.1}


def test_meta_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_checkpoint(tmp_path / "c", tiny_world_model(), meta={"train": object()})
    assert not (tmp_path / "c").exists()


def test_a_checkpoint_from_before_feature_statistics_says_to_train_again(saved) -> None:
    _, path = saved
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(CheckpointError, match="format 1.*train it again"):
        load_world_model(path)
