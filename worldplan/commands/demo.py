"""``worldplan demo``: collect -> pretrain -> fine-tune (pretrained and scratch) -> plan, on Wall.

It is ``worldplan benchmark benchmark=demo``: the benchmark grid shrunk to one env, one planner and
one data size (``configs/benchmark/demo.yaml``), so the demo runs exactly the code the benchmark
runs. It ends with a results table, a plot and per-episode videos under ``runs/demo``.
"""

from __future__ import annotations

from omegaconf import DictConfig

from worldplan.commands import benchmark


def run(cfg: DictConfig) -> None:
    """Entry point of ``worldplan demo`` (the CLI selects ``benchmark=demo``)."""
    print(f"worldplan demo: {' -> '.join(['collect', 'pretrain', 'finetune (pretrained, scratch)', 'plan'])} "
          f"on {', '.join(cfg.benchmark.envs)}; outputs under {cfg.benchmark.out}")
    benchmark.run(cfg)
