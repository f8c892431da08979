"""Trainer: batches as a function of the step, the LR schedule, exact resume after an interruption."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from worldplan.train.distributed import init_distributed
from worldplan.train.finetune import finetune
from worldplan.train.objective import NextFrameObjective
from worldplan.train.sampler import StepBatchSampler
from worldplan.train.trainer import NonFiniteLossError, Trainer, TrainSettings, lr_at


def batches(world_size: int, rank: int, start: int = 0, steps: int = 7) -> list[list[int]]:
    sampler = StepBatchSampler(10, batch_size=4, rank=rank, world_size=world_size, seed=3, start_step=start,
                               steps=steps)
    return list(sampler)


def test_ranks_split_the_same_global_batches_as_one_process() -> None:
    single = batches(1, 0)
    two = [a + b for a, b in zip(batches(2, 0), batches(2, 1))]
    assert two == single


def test_a_resumed_sampler_continues_the_same_sequence() -> None:
    assert batches(1, 0, start=3) == batches(1, 0)[3:]


def test_each_pass_visits_distinct_windows_with_epoch_tags() -> None:
    steps = batches(1, 0)  # 2 steps per pass over 10 windows (batch 4, remainder dropped)
    first_pass = [i for b in steps[:2] for i in b]
    assert len(set(first_pass)) == 8 and max(first_pass) < 10
    assert all(10 <= i < 20 for i in steps[2] + steps[3])


def test_a_dataset_smaller_than_a_batch_is_rejected() -> None:
    with pytest.raises(ValueError, match="fewer than one batch"):
        StepBatchSampler(3, batch_size=4, rank=0, world_size=1, seed=0, start_step=0, steps=1)


def test_lr_warms_up_linearly_then_decays_by_cosine_to_the_floor() -> None:
    kwargs = dict(lr=1.0, steps=110, warmup_steps=10, min_lr_ratio=0.1)
    assert [lr_at(s, **kwargs) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr_at(60, **kwargs) == pytest.approx(0.55)
    assert lr_at(110, **kwargs) == pytest.approx(0.1)


def predictor_weights(out: Path) -> dict:
    return {k: v for k, v in load_file(str(out / "model.safetensors")).items() if k.startswith("predictor.")}


def test_resume_after_interruption_gives_the_weights_of_an_uninterrupted_run(
    tiny_cfg: Callable, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = ("train.init=scratch", "train.steps=6", "train.save_every=3")
    full_args = (*common, f"train.finetune.out={workdir}/full", f"train.finetune.run_dir={workdir}/full-run")
    full = finetune(tiny_cfg(*full_args))
    resumed_args = (*common, f"train.finetune.out={workdir}/cut", f"train.finetune.run_dir={workdir}/cut-run")
    forward, calls = NextFrameObjective.forward, []

    def interrupted(self, batch):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return forward(self, batch)

    monkeypatch.setattr(NextFrameObjective, "forward", interrupted)
    with pytest.raises(KeyboardInterrupt):
        finetune(tiny_cfg(*resumed_args))
    monkeypatch.setattr(NextFrameObjective, "forward", forward)
    resumed = finetune(tiny_cfg(*resumed_args))
    assert resumed.resumed_from == 3
    assert resumed.weights_sha256 == full.weights_sha256
    a, b = predictor_weights(workdir / "full"), predictor_weights(workdir / "cut")
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    log = [json.loads(line) for line in (workdir / "cut-run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [2, 4, 6]


def test_resume_refuses_a_run_with_other_settings(tiny_cfg: Callable, workdir: Path) -> None:
    finetune(tiny_cfg("train.init=scratch", "train.steps=3"))
    with pytest.raises(ValueError, match="other settings.*lr"):
        finetune(tiny_cfg("train.init=scratch", "train.steps=3", "train.lr=0.1"))
    restarted = finetune(tiny_cfg("train.init=scratch", "train.steps=3", "train.lr=0.1", "train.resume=false"))
    assert restarted.resumed_from == 0


class Scaled(torch.nn.Module):
    """Loss = mean(w * x): NaN as soon as a batch holds a NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch: dict) -> torch.Tensor:
        return (self.w * batch["x"]).mean()


def test_a_nan_loss_stops_training_with_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    data = [{"x": torch.tensor([float("nan") if i == 5 else 1.0])} for i in range(8)]
    trainer = Trainer(
        Scaled(), data, settings=TrainSettings(steps=4, batch_size=8, lr=0.1, log_every=1), run_dir=tmp_path,
        ctx=init_distributed("cpu"), save_model=lambda step: None, progress=False,
    )
    with pytest.raises(NonFiniteLossError, match="lower train.lr or check the data"):
        trainer.fit()
