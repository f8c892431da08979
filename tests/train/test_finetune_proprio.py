"""Fine-tuning with proprioception (``train.proprio``) end to end: Wall data, checkpoint, planning on Wall."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from worldplan.cli import main
from worldplan.config import compose
from worldplan.data.collect import collect
from worldplan.models.checkpoint import load_world_model
from worldplan.train.distributed import init_distributed
from worldplan.train.finetune import finetune, prepare

WALL = "worldplan/Wall-v0"  # proprioception: the dot's (x, y)


def test_finetune_with_proprio_trains_on_it_and_plans_with_it(tmp_path: Path) -> None:
    dataset = collect(WALL, {"image_size": 64}, tmp_path / "data" / "train", episodes=6, steps=20, policy="random",
                      seed=0, noise=0.0, progress=False)
    cfg = compose("config", ["preset=tiny", "device=cpu", f"workdir={tmp_path}", "train.init=scratch",
                             "train.proprio=true", "train.rollout_loss=1.0"])
    finetune(cfg)
    out = tmp_path / "checkpoints" / "finetune-scratch"
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert len(metrics["proprio_mse"]) == 2 and np.isfinite(metrics["proprio_mse"]).all()
    model = load_world_model(out)
    assert model.proprio_dim == 2
    mean, std = dataset.meta.normalisation("proprio")
    np.testing.assert_allclose(model.proprio_mean.numpy(), mean)
    np.testing.assert_allclose(model.proprio_std.numpy(), std)
    assert main(["plan", "preset=tiny", "device=cpu", f"eval.checkpoint={out}", f"workdir={tmp_path}",
                 "eval.video_episodes=0", "eval.proprio_weight=0.5"]) == 0
    saved = json.loads((tmp_path / "eval" / "finetune-scratch-cem" / "summary.json").read_text())
    assert saved["summary"]["episodes"] == 2 and saved["protocol"]["cost"]["proprio_weight"] == 0.5


def test_proprio_asked_of_a_dataset_without_it_is_a_clear_error(tiny_cfg: Callable) -> None:
    with pytest.raises(ValueError, match=r"train.proprio=true but dataset .*data/train has no proprioception"):
        prepare(tiny_cfg("train.proprio=true"), init_distributed("cpu"))
