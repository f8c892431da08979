"""Benchmark: one fine-tuning step (forward, backward, AdamW) of the CPU presets' predictor.

Shapes of ``configs/benchmark/cpu.yaml`` and the demo: width-128 tiny predictor (depth 2, 2 heads),
batch 16 windows of 3 context + 3 predicted frames, 16 patches x 384 features, 2-d actions. Rows:
teacher forcing only; with the rollout loss as worldplan computes it (its first step reuses the
teacher-forced prediction of frame T); with the rollout loss recomputing that step (a full rollout
from the context, what worldplan did before). Each time is the median of ``--steps`` steps after
three warm-up steps, the rows taking turns step by step, one torch thread; ratios compare rows of
this run.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_step.py [--steps 30] [--out <table.md>]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from worldplan.atomic import write_text_atomic
from worldplan.models import DataWindow, Predictor, WorldModel
from worldplan.train.objective import NextFrameObjective

BATCH, T, H, P, D, A = 16, 3, 3, 16, 384, 2


class FullRolloutObjective(NextFrameObjective):
    """The rollout loss recomputing its first step: every step rolled out from the T context frames."""

    def _rollout_loss(self, z, actions, proprio, prediction, predicted):  # noqa: ARG002 (same signature)
        rolled = self.model.rollout(z[:, :T], actions[:, None, T - 1 :])  # (B, 1, H, P, D)
        return self._score(rolled[:, 0], z[:, T:])


def _step_seconds(objective: NextFrameObjective, optimizer: torch.optim.Optimizer, batch: dict) -> float:
    start = time.perf_counter()
    loss = objective(batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def median_step_seconds(objectives: dict[str, NextFrameObjective], batch: dict, steps: int) -> dict[str, float]:
    """Median seconds per step of each objective, the objectives taking turns (so drift hits all alike)."""
    optimizer = torch.optim.AdamW(next(iter(objectives.values())).parameters(), lr=1e-4)
    times: dict[str, list[float]] = {name: [] for name in objectives}
    for i in range(steps + 3):
        for name, objective in objectives.items():
            spent = _step_seconds(objective, optimizer, batch)
            times[name] += [spent] if i >= 3 else []
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train_step.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    predictor = Predictor(feature_dim=D, grid=(4, 4), width=128, depth=2, heads=2, action_dim=A)
    model = WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=H, frameskip=5, fps=10.0))
    batch = {"z": torch.randn(BATCH, T + H, P, D), "actions": torch.randn(BATCH, T + H - 1, A)}
    reused = "+ rollout loss, first step reused (worldplan)"
    seconds = median_step_seconds({
        "teacher forcing only": NextFrameObjective(model, use_actions=True),
        reused: NextFrameObjective(model, use_actions=True, rollout_weight=1.0),
        "+ rollout loss, full rollout (before)": FullRolloutObjective(model, use_actions=True, rollout_weight=1.0),
    }, batch, args.steps)
    lines = ["# One fine-tuning step (CPU preset shapes, one thread)", "",
             f"Command: `OMP_NUM_THREADS=1 python benchmarks/train_step.py --steps {args.steps}`", "",
             f"Machine: {platform.machine()}, {platform.processor() or 'unknown CPU'}; torch {torch.__version__}.", "",
             "| objective | step (s) | vs worldplan's |", "|---|---|---|"]
    lines += [f"| {name} | {value:.4f} | {value / seconds[reused]:.2f}x |" for name, value in seconds.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
