"""Benchmark: seconds per MPC step (one plan) with a world model, at DINO-WM's and a CPU budget.

One MPC step is one ``planner.plan`` call: ``iterations`` batched rollouts of ``num_samples``
candidates over H=5 model steps, scored against a goal (``worldplan.costs.make_cost_fn``), for B
episodes planned together. Predictors: ``tiny`` and the ViT-S-sized ``small`` (random weights: the
cost is the same), context T=3 frames of P=64 patches x D=384 (ViT-S/14 at 112 px), A=10.

Usage (from the repository root): ``.venv/bin/python -m benchmarks.mpc_step [--threads 2]
[--budgets dino_wm cpu] [--out benchmarks/results/mpc_step.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from benchmarks.rollout import GRID, A, D, T, build
from worldplan.costs import make_cost_fn
from worldplan.evaluate.metrics import markdown_table
from worldplan.planners import build_planner

BUDGETS = {  # name -> (planner, num_samples, num_elites, iterations, episodes planned together)
    "dino_wm": ("cem", 300, 30, 30, 1),
    "cpu": ("cem", 64, 8, 5, 1),
    "cpu_batched": ("cem", 64, 8, 5, 10),
}
HORIZON = 5


def time_plan(predictor: str, budget: str) -> dict:
    """Time one plan (after a warm-up plan) of ``predictor`` at ``budget``."""
    name, samples, elites, iterations, batch = BUDGETS[budget]
    model = build(predictor)
    gen = torch.Generator().manual_seed(0)
    z_context = torch.randn(batch, T, GRID[0] * GRID[1], D, generator=gen)
    z_goal = torch.randn(batch, GRID[0] * GRID[1], D, generator=gen)
    cost_fn = make_cost_fn(model, z_context, z_goal)
    planner = build_planner(name, horizon=HORIZON, action_low=[-1.0] * A, action_high=[1.0] * A,
                            num_samples=samples, num_elites=elites, iterations=iterations, seed=0)
    planner.plan(cost_fn, batch)
    start = time.perf_counter()
    result = planner.plan(cost_fn, batch)
    seconds = time.perf_counter() - start
    return {"predictor": predictor, "budget": f"{budget}: {samples}x{iterations}x{HORIZON}", "episodes": batch,
            "seconds_per_plan": seconds, "seconds_per_episode": seconds / batch,
            "candidate_steps_per_s": result.evaluations * HORIZON * batch / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--predictors", nargs="+", default=["tiny", "small"])
    parser.add_argument("--budgets", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mpc_step.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = [time_plan(p, b) for p in args.predictors for b in args.budgets]
    table = markdown_table(rows, float_format=".3g")
    header = (f"# Seconds per MPC step (one plan)\n\nCommand: `python -m benchmarks.mpc_step --threads {args.threads} "
              f"--predictors {' '.join(args.predictors)} --budgets {' '.join(args.budgets)}`\n\n"
              f"Machine: {platform.machine()}, {args.threads} threads, torch {torch.__version__}; load average "
              f"(1 min) before {load_before:.1f}, after {os.getloadavg()[0]:.1f}. Context T={T}, "
              f"P={GRID[0] * GRID[1]}, D={D}, A={A}, H={HORIZON}.\n\n")
    print(header + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + table + "\n")


if __name__ == "__main__":
    main()
