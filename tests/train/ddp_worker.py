"""Run by test_distributed.py under torchrun: pretrain with the given overrides, then write this
rank's weight checksum to ``<out>/rank<r>.json``. Usage: ``ddp_worker.py <out> [overrides...]``."""

import json
import sys
from pathlib import Path

import torch

from worldplan.config import compose
from worldplan.train.pretrain import pretrain

if __name__ == "__main__":
    torch.set_num_threads(1)
    result = pretrain(compose("config", sys.argv[2:]))
    record = {"rank": result.rank, "sha256": result.weights_sha256, "loss": result.loss}
    Path(sys.argv[1], f"rank{result.rank}.json").write_text(json.dumps(record))
