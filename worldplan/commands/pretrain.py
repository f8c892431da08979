"""``worldplan pretrain``: action-free next-frame pretraining on ``train.pretrain.sources``.

Runs as one process or under torchrun (``python -m torch.distributed.run --nproc_per_node=N -m
worldplan.cli pretrain ...``). Writes the checkpoint to ``train.pretrain.out`` and the trainer
state, ``log.jsonl`` and ``config.yaml`` to ``train.pretrain.run_dir``; re-running resumes.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.train.pretrain import pretrain


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan pretrain``."""
    result = pretrain(cfg)
    if result.rank != 0:
        return
    if result.step == result.resumed_from:
        print(f"pretraining was already complete at step {result.step} (train.steps); nothing to do. "
              f"checkpoint: {cfg.train.pretrain.out}")
        return
    print(f"pretrained {result.step} steps (resumed from {result.resumed_from}); last mean loss "
          f"{result.loss:.4f}; checkpoint: {cfg.train.pretrain.out}")
