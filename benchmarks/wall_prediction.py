"""Wall, CPU scale: latent prediction error of pretrained+fine-tuned vs scratch vs copy-last-frame.

Usage: ``python benchmarks/wall_prediction.py [--workdir runs/wall_prediction]
[--out docs/results/wall_prediction.md] [--threads 1]``

Runs the pipeline through the ``worldplan`` CLI, one subprocess per step, and records each command
and its wall time: collect an action-free pretraining corpus (200 random-policy episodes, seeds
from base seed 1000) and an action-labelled dataset (60 episodes, base seed 0; 50 for training,
10 held out by episode), encode both with the real DINOv2 ViT-S/14 architecture with random weights
at 56 px (4 x 4 patches of 384-d), pretrain a small predictor action-free, fine-tune it on the 50
trajectories (``train.init=pretrained``) and train the same architecture with the same data and
steps from random initialisation (``train.init=scratch``). Writes the table of held-out latent
MSE per rollout step, with the copy-last-frame baseline, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODEL = [
    "env=wall", "device=cpu", "encoder=dinov2_vits14", "encoder.weights=random", "encoder.image_size=56", "encoder.dtype=fp32",
    "predictor=small", "predictor.width=128", "predictor.depth=4", "predictor.heads=4",
]
PRETRAIN = ["train.steps=600", "train.batch_size=32", "train.lr=1e-3", "train.warmup_steps=50", "train.save_every=300",
            "train.log_every=50", "train.progress=false"]
FINETUNE = ["train.steps=400", "train.batch_size=32", "train.lr=1e-3", "train.warmup_steps=20", "train.save_every=200",
            "train.log_every=50", "train.eval_every=100", "train.progress=false", "train.val_fraction=0.17",
            "train.finetune.episodes=50", "train.window.eval_horizon=5", "train.mode=all"]


def steps(workdir: str) -> list[list[str]]:
    """The CLI invocations of the experiment, in order."""
    common = [f"workdir={workdir}", *MODEL]
    return [
        ["collect", *common, f"data.out={workdir}/data/pretrain", "data.episodes=200", "seed=1000", "data.video_episodes=0"],
        ["collect", *common, f"data.out={workdir}/data/train", "data.episodes=60", "seed=0", "data.video_episodes=0"],
        ["encode", *common],
        ["pretrain", *common, *PRETRAIN],
        ["finetune", *common, *FINETUNE, "train.init=pretrained"],
        ["finetune", *common, *FINETUNE, "train.init=scratch"],
    ]


def run(args: list[str], threads: int) -> float:
    """Run ``worldplan <args>``; returns its wall time in seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    print("$ worldplan " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "worldplan.cli", *args], env=env, check=True)
    return time.perf_counter() - start


def table(workdir: Path) -> list[str]:
    """Markdown rows: per-step validation MSE of both inits and the copy-last-frame baseline."""
    metrics = {init: json.loads((workdir / "checkpoints" / f"finetune-{init}" / "metrics.json").read_text())
               for init in ("pretrained", "scratch")}
    pre = metrics["pretrained"]["metrics"]
    horizon = len(pre["model_mse"])
    header = "| model | " + " | ".join(f"step {h}" for h in range(1, horizon + 1)) + " |"
    rows = [header, "|---" * (horizon + 1) + "|"]
    names = {"pretrained": "pretrained + fine-tuned", "scratch": "scratch (same steps)"}
    for init, name in names.items():
        rows.append(f"| {name} | " + " | ".join(f"{e:.5f}" for e in metrics[init]["metrics"]["model_mse"]) + " |")
    rows.append("| copy last frame | " + " | ".join(f"{e:.5f}" for e in pre["copy_last_mse"]) + " |")
    rows.append("")
    rows.append(f"Held-out windows: {pre['windows']} (episodes {metrics['pretrained']['split']['val']}); "
                f"final training loss (smooth-L1): pretrained {metrics['pretrained']['final_train_loss']:.5f}, "
                f"scratch {metrics['scratch']['final_train_loss']:.5f}.")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/wall_prediction")
    parser.add_argument("--out", default="docs/results/wall_prediction.md")
    parser.add_argument("--threads", type=int, default=1, help="OMP threads per step (1 is fastest on a shared 2-core box)")
    args = parser.parse_args()
    timings = [(invocation, run(invocation, args.threads)) for invocation in steps(args.workdir)]
    lines = ["# Wall: latent prediction error, pretrained + fine-tuned vs scratch", "",
             f"Produced by `python benchmarks/wall_prediction.py --workdir {args.workdir} --threads {args.threads}`.", "",
             "Latent MSE (mean over patches and features) on held-out episodes, per autoregressive rollout step", ""]
    lines += table(Path(args.workdir))
    lines += ["", "## Commands and wall times", "", "| seconds | command |", "|---|---|"]
    lines += [f"| {seconds:.0f} | `worldplan {' '.join(inv)}` |" for inv, seconds in timings]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
