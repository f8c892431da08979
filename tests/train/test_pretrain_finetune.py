"""Pretraining and fine-tuning end to end on tiny synthetic data; pretrained vs scratch init."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from worldplan.cli import main
from worldplan.data.episodes import EpisodeDataset
from worldplan.evaluate.plan import checkpoint_env
from worldplan.models.checkpoint import load_world_model
from worldplan.models.precision import resolve_train_dtype
from worldplan.train.build import settings_for
from worldplan.train.distributed import init_distributed
from worldplan.train.feature_stats import feature_statistics
from worldplan.train.finetune import check_dataset_env, finetune, prepare
from worldplan.train.pretrain import pretrain


def test_finetune_writes_rollout_errors_per_step_and_the_copy_last_baseline(tiny_cfg: Callable, workdir: Path) -> None:
    pretrain(tiny_cfg())
    result = finetune(tiny_cfg("train.finetune.episodes=3", "train.window.eval_horizon=3"))
    out = workdir / "checkpoints" / "finetune-pretrained"
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["metrics"]["model_mse"]) == 3 and len(metrics["metrics"]["copy_last_mse"]) == 3
    assert metrics["metrics"]["windows"] > 0 and result.metrics == metrics["metrics"]
    assert metrics["train_episodes"] == metrics["split"]["train"][:3]
    assert not set(metrics["split"]["train"]) & set(metrics["split"]["val"])
    resolved = resolve_train_dtype(tiny_cfg().train.amp, "cpu")  # what amp=auto means on this machine is recorded
    pretrained_meta = json.loads((workdir / "checkpoints" / "pretrain" / "meta.json").read_text())
    assert metrics["precision"] == pretrained_meta["train"]["precision"] == resolved
    model = load_world_model(out, device="cpu")
    z = torch.randn(1, 3, model.predictor.num_patches, model.predictor.arch["feature_dim"])
    assert model.rollout(z, torch.zeros(1, 2, 4, model.action_dim)).shape == (1, 2, 4, *z.shape[2:])


def _state(setup) -> dict[str, torch.Tensor]:
    return setup.model.predictor.state_dict()


def test_scratch_and_pretrained_differ_only_in_the_initial_predictor_weights(tiny_cfg: Callable, workdir: Path) -> None:
    pretrain(tiny_cfg())
    ctx = init_distributed("cpu")
    pre, scratch = prepare(tiny_cfg("train.init=pretrained"), ctx), prepare(tiny_cfg("train.init=scratch"), ctx)
    assert pre.model.predictor.arch == scratch.model.predictor.arch
    assert len(pre.train_windows) == len(scratch.train_windows) and pre.record["split"] == scratch.record["split"]
    a, b = _state(pre), _state(scratch)
    pretrained = load_world_model(workdir / "checkpoints" / "pretrain", with_encoder=False).predictor.state_dict()
    for key in a:
        if key.startswith("actions."):
            assert torch.equal(a[key], b[key]), key
        else:
            assert torch.equal(a[key], pretrained[key]), key
    assert not torch.equal(a["head.weight"], b["head.weight"])


def test_pretrained_init_predicts_exactly_like_the_pretrained_model(tiny_cfg: Callable, workdir: Path) -> None:
    pretrain(tiny_cfg())
    setup = prepare(tiny_cfg("train.init=pretrained"), init_distributed("cpu"))
    action_free = load_world_model(workdir / "checkpoints" / "pretrain", with_encoder=False)
    batch = torch.utils.data.default_collate([setup.train_windows[i] for i in range(4)])
    z = batch["z"].float()
    expected = action_free.predictor(z, setup.model.frame_times(4, z.shape[1]))
    torch.testing.assert_close(setup.model(z, batch["actions"]), expected, rtol=0, atol=0)


def test_asking_for_more_episodes_than_the_split_has_is_an_error(tiny_cfg: Callable) -> None:
    with pytest.raises(ValueError, match="finetune.episodes=50"):
        finetune(tiny_cfg("train.init=scratch", "train.finetune.episodes=50"))


def test_finetuning_on_a_dataset_of_another_env_is_refused_naming_both(tiny_cfg: Callable, workdir: Path) -> None:
    meta_file = workdir / "data" / "train" / "meta.json"
    meta_file.write_text(json.dumps({**json.loads(meta_file.read_text()), "env_id": "worldplan/Wall-v0"}))
    check_dataset_env(EpisodeDataset.open(meta_file.parent), tiny_cfg("env=wall").env)  # its own env passes
    with pytest.raises(ValueError, match=r"collected on worldplan/Wall-v0 but the env is worldplan/PointMaze-v0"):
        finetune(tiny_cfg("env=pointmaze", "train.init=scratch"))
    assert not (workdir / "checkpoints").exists()


def test_pretrained_init_without_a_pretrain_checkpoint_says_what_to_do(tiny_cfg: Callable) -> None:
    with pytest.raises(FileNotFoundError, match="worldplan pretrain"):
        finetune(tiny_cfg("train.init=pretrained"))


def test_pretraining_reads_video_folders_and_episodes_alike(tiny_cfg: Callable, workdir: Path) -> None:
    rng = np.random.default_rng(0)
    (workdir / "videos").mkdir()
    iio.imwrite(workdir / "videos" / "clip.mp4", rng.integers(0, 256, (30, 32, 40, 3), dtype=np.uint8), fps=25)
    sources = f"train.pretrain.sources=[{workdir}/data/pretrain,{workdir}/videos]"
    pretrain(tiny_cfg(sources))
    meta = json.loads((workdir / "checkpoints" / "pretrain" / "meta.json").read_text())
    assert [(s["kind"], s["items"]) for s in meta["train"]["sources"]] == [("episodes", 6), ("videos", 1)]


def test_cli_encode_then_finetune_with_a_bad_init_exits_with_an_error(workdir: Path, capsys) -> None:
    args = ["preset=tiny", "device=cpu", f"workdir={workdir}"]
    assert main(["encode", *args]) == 0
    assert capsys.readouterr().out.count("items") == 2
    assert main(["finetune", *args, "train.init=bogus"]) == 1
    assert "train.init must be one of" in capsys.readouterr().err


def test_a_stage_can_override_the_shared_optimiser_settings(tiny_cfg: Callable) -> None:
    cfg = tiny_cfg("+train.pretrain.steps=2", "+train.pretrain.lr=0.5")
    pre, fine = settings_for(cfg.train, "pretrain", seed=0), settings_for(cfg.train, "finetune", seed=0)
    assert (pre.steps, pre.lr) == (2, 0.5)
    assert (fine.steps, fine.lr) == (cfg.train.steps, cfg.train.lr)


def test_an_unknown_stage_override_names_the_key_and_the_valid_ones(tiny_cfg: Callable) -> None:
    cfg = tiny_cfg("+train.pretrain.stpes=5")
    expected = r"train\.pretrain\.stpes .*did you mean train\.pretrain\.steps\?.*clip_frames"
    with pytest.raises(ValueError, match=expected):
        settings_for(cfg.train, "pretrain", seed=0)


def test_scratch_standardises_with_its_training_episodes_and_pretrained_inherits_the_corpus_statistics(
    tiny_cfg: Callable, workdir: Path
) -> None:
    pretrain(tiny_cfg())
    ctx = init_distributed("cpu")
    pre, scratch = prepare(tiny_cfg("train.init=pretrained"), ctx), prepare(tiny_cfg("train.init=scratch"), ctx)
    mean, std = feature_statistics(scratch.train_windows.tracks, "patch")
    torch.testing.assert_close(scratch.model.predictor.feature_mean, mean)
    torch.testing.assert_close(scratch.model.predictor.feature_std, std)
    corpus = load_world_model(workdir / "checkpoints" / "pretrain", with_encoder=False).predictor
    assert not torch.equal(corpus.feature_std, torch.ones_like(corpus.feature_std))
    assert torch.equal(pre.model.predictor.feature_std, corpus.feature_std)
    assert not torch.equal(pre.model.predictor.feature_mean, mean)


def test_a_finetune_record_names_its_env_and_absolute_dataset_so_a_moved_dataset_loses_nothing(
        tiny_cfg: Callable, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    record = prepare(tiny_cfg("train.init=scratch", "train.finetune.dataset=data/train"),
                     init_distributed("cpu")).record
    dataset = EpisodeDataset.open(workdir / "data" / "train")
    assert record["dataset"] == str(workdir.resolve() / "data" / "train")
    (workdir / "data" / "train").rename(workdir / "data" / "moved")
    assert checkpoint_env({"train": record}) == (dataset.meta.env_id, dataset.meta.env_kwargs)


def test_per_source_pretraining_keeps_the_identity_and_its_finetune_takes_its_envs_statistics(
    tiny_cfg: Callable, workdir: Path
) -> None:
    sources = f"train.pretrain.sources=[{workdir}/data/pretrain,{workdir}/data/train]"
    pretrain(tiny_cfg(sources, "train.pretrain.feature_stats=per_source"))
    out = workdir / "checkpoints" / "pretrain"
    corpus = load_world_model(out, with_encoder=False).predictor
    assert not corpus.feature_mean.any() and torch.equal(corpus.feature_std, torch.ones_like(corpus.feature_std))
    assert json.loads((out / "meta.json").read_text())["train"]["feature_stats"] == "per_source"
    pre = prepare(tiny_cfg("train.init=pretrained"), init_distributed("cpu"))
    mean, std = feature_statistics(pre.train_windows.tracks, "patch")
    torch.testing.assert_close(pre.model.predictor.feature_mean, mean)
    torch.testing.assert_close(pre.model.predictor.feature_std, std)


@pytest.mark.parametrize(("overrides", "message"), [
    (["train.pretrain.feature_stats=bogus"], r"feature_stats must be one of \('pooled', 'per_source'\); got 'bogus'"),
    (["train.pretrain.feature_stats=per_source", "predictor.feature_norm=none"], "feature_norm is none"),
])
def test_bad_feature_statistics_settings_are_refused_before_any_encoding(
    tiny_cfg: Callable, workdir: Path, overrides: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pretrain(tiny_cfg(*overrides))
    assert not (workdir / "checkpoints").exists() and not (workdir / "data" / "pretrain" / "features").exists()
