"""torchrun DDP on CPU (gloo): two processes train in lockstep and match a single process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from worldplan.train.pretrain import pretrain

WORKER = Path(__file__).with_name("ddp_worker.py")
pytestmark = pytest.mark.slow  # two torchrun processes


def test_two_process_run_ends_with_identical_weights_equal_to_one_process(tiny_cfg: Callable, workdir: Path) -> None:
    # fp32: lockstep with one process is an fp32 claim; bf16 autocast (train.amp=bf16) rounds
    # each rank's half batch differently from the whole batch, so the weights drift apart by more than 1e-5.
    overrides = ["preset=tiny", "device=cpu", f"workdir={workdir}", "train.steps=4", "train.save_every=2",
                 "train.amp=fp32"]
    ddp = [f"train.pretrain.out={workdir}/ddp", f"train.pretrain.run_dir={workdir}/ddp-run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(WORKER), str(workdir), *overrides, *ddp]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((workdir / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0]["sha256"] == ranks[1]["sha256"]
    assert ranks[0]["loss"] == ranks[1]["loss"]

    single = pretrain(tiny_cfg(*overrides[3:]))
    assert abs(single.loss - ranks[0]["loss"]) < 1e-5
    a = load_file(str(workdir / "ddp" / "model.safetensors"))
    b = load_file(str(workdir / "checkpoints" / "pretrain" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
