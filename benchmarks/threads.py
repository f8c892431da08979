"""Benchmark: a training step and a planning iteration, idle and beside a competing CPU-bound process.

Each setting runs in a fresh subprocess (OpenMP reads its environment when torch loads):
``OMP_WAIT_POLICY`` unset (OpenMP's default: threads spin-wait between parallel regions) or ``PASSIVE``
(idle threads sleep; what ``import worldplan`` sets unless the user chose), with 1 or 2 torch threads.
The competitor is another process doing fp32 matmuls on one thread, as another training job would.

Workloads (the CPU benchmark preset's shapes): a fine-tuning step of the width-128 tiny predictor
(batch 16, 3 context + 3 predicted frames of 16 patches x 384 features, rollout loss on), and one
planner iteration (rollout + last-step cost) of B=5 episodes x N=64 candidates x H=5. Each time is
the median of ``--steps`` calls after two warm-up calls. Ratios compare settings measured in this run.

Usage: ``.venv/bin/python benchmarks/threads.py [--steps 7] [--out benchmarks/results/threads.md]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from worldplan.atomic import write_text_atomic

B, N, H, T, P, D, A, WIDTH, BATCH = 5, 64, 5, 3, 16, 384, 10, 128, 16
POLICIES = ("default", "PASSIVE")


def _model():  # imported lazily: the parent process never loads torch
    import torch

    from worldplan.models import DataWindow, Predictor, WorldModel

    torch.manual_seed(0)
    predictor = Predictor(feature_dim=D, grid=(4, 4), width=WIDTH, depth=2, heads=2, action_dim=A)
    return WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=3, frameskip=5, fps=10.0))


def _median_seconds(fn, steps: int) -> float:
    fn(), fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(steps: int) -> dict[str, float]:
    """Time the two workloads in this process (its environment sets the policy and threads)."""
    import torch

    from worldplan.costs import make_cost_fn
    from worldplan.train.objective import NextFrameObjective

    model = _model()
    objective = NextFrameObjective(model, use_actions=True, rollout_weight=1.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = {"z": torch.randn(BATCH, T + 3, P, D), "actions": torch.randn(BATCH, T + 2, A)}

    def train_step() -> None:
        loss = objective(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    cost_fn = make_cost_fn(model.eval(), torch.randn(B, T, P, D), torch.randn(B, P, D))
    actions = torch.randn(B, N, H, A)
    return {"train_step": _median_seconds(train_step, steps),
            "plan_iteration": _median_seconds(lambda: cost_fn(actions), steps)}


def _competitor() -> subprocess.Popen:
    code = ("import torch; torch.set_num_threads(1); a = torch.randn(512, 512)\n"
            "while True: a = (a @ a).clamp_(-1, 1)")
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"})


def measure(policy: str, threads: int, busy: bool, steps: int) -> dict[str, float]:
    """Run `worker` in a subprocess with this policy and thread count, with or without a competitor."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = str(threads)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    else:
        env["OMP_WAIT_POLICY"] = "ACTIVE"  # spell out OpenMP's default: `import worldplan` would otherwise set PASSIVE
    competitor = _competitor() if busy else None
    try:
        time.sleep(1.0 if busy else 0.0)
        out = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(steps)], env=env,
                             capture_output=True, text=True, check=True)
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(rows: list[dict], info: dict) -> str:
    lines = ["# Threads: idle vs beside one competing CPU-bound process", "", f"Command: `{info['command']}`", "",
             f"Machine: {info['machine']}; load average (1 min) before {info['load']}.", "",
             "| wait policy | threads | train step idle (s) | beside a competitor (s) | slow-down | "
             "plan iteration idle (s) | beside a competitor (s) | slow-down |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['policy']} | {r['threads']} | {r['idle']['train_step']:.4f} | "
                     f"{r['busy']['train_step']:.4f} | {r['busy']['train_step'] / r['idle']['train_step']:.2f}x | "
                     f"{r['idle']['plan_iteration']:.4f} | {r['busy']['plan_iteration']:.4f} | "
                     f"{r['busy']['plan_iteration'] / r['idle']['plan_iteration']:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "threads.md")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.steps)))
        return
    info = {"command": f"python benchmarks/threads.py --steps {args.steps}", "load": f"{os.getloadavg()[0]:.1f}",
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"}
    rows = []
    for policy in POLICIES:
        for threads in (1, 2):
            rows.append({"policy": "ACTIVE (OpenMP default)" if policy == "default" else policy, "threads": threads,
                         "idle": measure(policy, threads, False, args.steps),
                         "busy": measure(policy, threads, True, args.steps)})
            print(rows[-1], flush=True)
    report = render(rows, info)
    print(report)
    write_text_atomic(args.out, report)


if __name__ == "__main__":
    main()
