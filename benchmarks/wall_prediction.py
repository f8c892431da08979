"""Wall, CPU scale: latent prediction error of pretrained+fine-tuned vs scratch vs copy-last-frame.

Usage: ``python benchmarks/wall_prediction.py [--workdir runs/wall_prediction]
[--out docs/results/wall_prediction.md] [--threads 1] [--report-only]``

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
    "env=wall", "device=cpu", "encoder=dinov2_vits14", "encoder.weights=random", "encoder.image_size=56",
    "encoder.dtype=fp32",
    "predictor=small", "predictor.width=128", "predictor.depth=4", "predictor.heads=4",
]
PRETRAIN = ["train.steps=600", "train.batch_size=32", "train.lr=1e-3", "train.warmup_steps=50", "train.save_every=300",
            "train.log_every=50", "train.progress=false"]
FINETUNE = ["train.steps=400", "train.batch_size=32", "train.lr=1e-3", "train.warmup_steps=20", "train.save_every=200",
            "train.log_every=50", "train.eval_every=100", "train.progress=false", "train.val_fraction=0.17",
            "train.finetune.episodes=50", "train.window.eval_horizon=5", "train.mode=all"]


INITS = {"pretrained": "pretrained + fine-tuned", "scratch": "scratch (same architecture, data, steps)"}
SETUP = """Setup (CPU scale, one seed): Wall (64 px frames, 10 fps, frameskip 5). Encoder: the real DINOv2
ViT-S/14 architecture (`vit_small_patch14_dinov2`) with **random weights** (`encoder.weights=random`;
no pretrained DINOv2 weights on this machine), frames resized to 56 px -> 4 x 4 = 16 patches of 384-d,
fp32. Predictor: DINO-world cross-attention, width 128, depth 4, 4 heads. Pretraining: action-free,
200 random-policy episodes of 50 steps collected with base seed 1000 (disjoint from the fine-tuning
data), 8-frame clips at a random stride of 1/25..1/3 s, 600 steps of batch 32. Fine-tuning: 60
episodes collected with base seed 0, split by episode (seed 0) into 50 training and 10 held-out
episodes; windows of 3 context + 1 predicted frame at frameskip 5, 400 steps of batch 32, all
parameters trained (`train.mode=all`), the same for `train.init=pretrained` and `train.init=scratch`.
Evaluation: 3 context frames, then 5 model steps rolled out autoregressively with the logged actions;
error = mean squared error over the 16 x 384 features of each predicted frame. The "other windows'
actions" rows roll out the same models with the actions of a window from another episode: the gap to
the logged-action rows is how much the model uses its actions."""
CAVEATS = """Caveats: random-weight encoder features (not DINOv2's), so absolute numbers say nothing about
real DINOv2 features; one seed; tiny CPU-scale model and step counts. Wall times were measured on a
2-core machine shared with other jobs, so they are upper bounds."""


def steps(workdir: str) -> list[list[str]]:
    """The CLI invocations of the experiment, in order."""
    common = [f"workdir={workdir}", *MODEL]
    return [
        ["collect", *common, f"data.out={workdir}/data/pretrain", "data.episodes=200", "seed=1000",
         "data.video_episodes=0"],
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


def _load(workdir: Path) -> dict[str, dict]:
    return {init: json.loads((workdir / "checkpoints" / f"finetune-{init}" / "metrics.json").read_text())
            for init in INITS}


def table(metrics: dict[str, dict]) -> list[str]:
    """Markdown rows: final held-out MSE per rollout step of both inits and of copying the last frame."""
    pre = metrics["pretrained"]["metrics"]
    horizon = len(pre["model_mse"])
    rows = ["| model | " + " | ".join(f"step {h}" for h in range(1, horizon + 1)) + " |", "|---" * (horizon + 1) + "|"]
    for init, name in INITS.items():
        rows.append(f"| {name} | " + " | ".join(f"{e:.5f}" for e in metrics[init]["metrics"]["model_mse"]) + " |")
    rows.append("| copy last frame | " + " | ".join(f"{e:.5f}" for e in pre["copy_last_mse"]) + " |")
    for init, name in INITS.items():
        shuffled = metrics[init]["metrics"]["shuffled_actions_mse"]
        errors = " | ".join(f"{e:.5f}" for e in shuffled)
        rows.append(f"| {name.split(' (')[0]}, other windows' actions | {errors} |")
    return rows


def curve(workdir: Path) -> list[str]:
    """Markdown rows: held-out step-1 / step-5 MSE at every evaluation during fine-tuning."""
    evals = {}
    for init in INITS:
        lines = (workdir / "train" / f"finetune-{init}" / "log.jsonl").read_text().splitlines()
        evals[init] = {r["step"]: r["eval"]["model_mse"] for r in map(json.loads, lines) if "eval" in r}
    rows = ["| fine-tuning step | pretrained: step 1 | pretrained: step 5 | scratch: step 1 | scratch: step 5 |",
            "|---|---|---|---|---|"]
    for step in sorted(evals["pretrained"]):
        pre = evals["pretrained"][step]
        scratch = evals["scratch"].get(step, [float("nan")] * len(pre))
        rows.append(f"| {step} | {pre[0]:.5f} | {pre[-1]:.5f} | {scratch[0]:.5f} | {scratch[-1]:.5f} |")
    return rows


def summary(metrics: dict[str, dict]) -> str:
    """One sentence comparing the two inits and the baseline at the first and last rollout step."""
    pre, scratch = metrics["pretrained"]["metrics"], metrics["scratch"]["metrics"]
    parts = []
    for index, label in ((0, "1-step"), (-1, f"{len(pre['model_mse'])}-step")):
        vs_scratch = 100 * (pre["model_mse"][index] / scratch["model_mse"][index] - 1)
        vs_copy = 100 * (pre["model_mse"][index] / pre["copy_last_mse"][index] - 1)
        parts.append(f"{label}: {vs_scratch:+.0f}% vs scratch, {vs_copy:+.0f}% vs copy-last-frame")
        scratch_vs_copy = 100 * (scratch["model_mse"][index] / pre["copy_last_mse"][index] - 1)
        parts[-1] += f" (scratch {scratch_vs_copy:+.0f}% vs copy-last)"
    uses = []
    for init in INITS:
        own, other = metrics[init]["metrics"]["model_mse"], metrics[init]["metrics"]["shuffled_actions_mse"]
        uses.append(f"{init} {100 * max(abs(o / m - 1) for m, o in zip(own, other)):.2f}%")
    return ("Pretrained + fine-tuned error relative to the others: " + "; ".join(parts) + ". Largest change of "
            "the error when the models get another episode's actions: " + ", ".join(uses) + ".")


def write_doc(out: Path, workdir: Path, command: str, timings: list[tuple[list[str], float]], reused: list[str]) -> str:
    """Write the results page; returns its text."""
    metrics = _load(workdir)
    pre = metrics["pretrained"]
    lines = [
        "# Wall: latent prediction error, pretrained + fine-tuned vs scratch vs copy-last-frame", "",
        f"Reproduce with `{command}` (generated by that script).", "", SETUP, "",
        "## Held-out latent MSE per autoregressive rollout step (after fine-tuning)", "",
        *table(metrics), "", summary(metrics), "",
        f"Held-out: {pre['metrics']['windows']} windows of {pre['settings']['window']['context']} context + "
        f"{len(pre['metrics']['model_mse'])} predicted frames from validation episodes {pre['split']['val']}. "
        f"Final training loss (smooth-L1): pretrained {pre['final_train_loss']:.5f}, "
        f"scratch {metrics['scratch']['final_train_loss']:.5f}.", "",
        "## During fine-tuning (step 0 = the initialisation alone)", "", *curve(workdir), "",
        "## Commands and wall times on this run", "", "| seconds | command |", "|---|---|",
        *[f"| {seconds:.0f} | `worldplan {' '.join(inv)}` |" for inv, seconds in timings], "", CAVEATS,
    ]
    if reused:
        lines.append(f"Datasets that existed before this run (collect/encode only completed them): {reused}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/wall_prediction")
    parser.add_argument("--out", default="docs/results/wall_prediction.md")
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP threads per step (1 is fastest on a shared 2-core box)")
    parser.add_argument("--report-only", action="store_true", help="rewrite --out from a finished run's files")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    record = workdir / "wall_prediction_runs.json"
    if not args.report_only:
        data = workdir / "data"
        reused = [str(data / name) for name in ("pretrain", "train") if (data / name / "meta.json").exists()]
        timings = [(invocation, run(invocation, args.threads)) for invocation in steps(args.workdir)]
        record.write_text(json.dumps({"threads": args.threads, "timings": timings, "reused": reused}))
    runs = json.loads(record.read_text())
    command = f"python benchmarks/wall_prediction.py --workdir {args.workdir} --threads {runs['threads']}"
    print(write_doc(Path(args.out), workdir, command, runs["timings"], runs["reused"]))


if __name__ == "__main__":
    main()
