#!/usr/bin/env bash
# Wall, CPU scale: the CPU benchmark's model cells again with longer fine-tuning (default 4000 steps
# instead of the preset's 2000), everything else as in `worldplan benchmark benchmark=cpu`.
# Needs a finished CPU benchmark in runs/benchmark/cpu: it reuses its data, feature caches and
# pretrained checkpoint. Writes checkpoints and evaluations to runs/extra/.
# Usage (from the repository root): bash benchmarks/wall_longer_training.sh [steps]
set -euo pipefail
steps=${1:-4000}
common=(encoder.weights=random encoder.image_size=56 predictor=tiny predictor.width=128 train.batch_size=16
        train.lr=1e-3 train.warmup_steps=50 train.window.horizon=3 train.rollout_loss=1.0 train.save_every=0
        train.progress=false env=wall)
for cell in "pretrained 0" "pretrained 1" "scratch 0" "scratch 1"; do
  read -r init seed <<< "$cell"
  name=long-$init-n100-s$seed
  OMP_NUM_THREADS=1 .venv/bin/worldplan finetune "${common[@]}" seed="$seed" workdir=runs/benchmark/cpu/wall \
    train.steps="$steps" train.init="$init" train.finetune.episodes=100 train.val_fraction=0.09090909090909091 \
    train.finetune.out=runs/extra/"$name" train.finetune.run_dir=runs/extra/train-"$name"
  for planner in cem mppi; do
    OMP_NUM_THREADS=1 .venv/bin/worldplan plan "${common[@]}" seed="$seed" workdir=runs/extra eval.episodes=25 \
      eval.batch_size=25 eval.replan_every=5 eval.video_episodes=0 planner="$planner" planner.num_samples=64 \
      planner.iterations=5 planner.num_elites=8 eval.model=checkpoint eval.checkpoint=runs/extra/"$name" \
      eval.name="$planner-$name"
  done
done
