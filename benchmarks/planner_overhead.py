"""Benchmark: how much of a plan with a world model is the model, per planner.

Each planner plans B=25 episodes at the CPU preset's shapes (the width-128 tiny predictor, P=16
patches of 384 features, H=5, A=10) and budget (``configs/benchmark/cpu.yaml``: 320 sequence
evaluations per plan). The cost function is timed from inside (every call, forward and, for gradient
planners, the backward through it), so "in the model" is the rollout and the cost, and the rest of
``plan`` is the planner's own bookkeeping (sampling, sorting, refits, optimiser steps). CPU seconds
of this process, median of ``--repeats`` plans after a warm-up plan.

Usage: ``.venv/bin/python benchmarks/planner_overhead.py [--repeats 3] [--out benchmarks/results/planner_overhead.md]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from worldplan.atomic import write_text_atomic
from worldplan.config import compose
from worldplan.costs import make_cost_fn
from worldplan.models import DataWindow, Predictor, WorldModel
from worldplan.planners import build_planner

B, T, P, D, A = 25, 3, 16, 384, 10
PLANNERS = ("cem", "mppi", "icem", "gd", "cem_gd")


def world_model() -> WorldModel:
    torch.manual_seed(0)
    predictor = Predictor(feature_dim=D, grid=(4, 4), width=128, depth=2, heads=2, action_dim=A)
    return WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=3, frameskip=5, fps=10.0)).eval()


def planner_for(name: str):
    """The planner with the CPU preset's budget overrides."""
    budget = compose("config", ["benchmark=cpu"]).benchmark.planner_overrides[name]
    settings = OmegaConf.to_container(compose("config", [f"planner={name}", *budget]).planner, resolve=True)
    return build_planner(**settings, action_low=[-1.0] * A, action_high=[1.0] * A)


class _Stamp(torch.autograd.Function):
    """Identity whose backward records the CPU clock: placed on the cost (the backward starts there) and on
    the actions (it ends there), the gap is the backward pass through the model."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, clock: dict, key: str) -> torch.Tensor:  # noqa: ANN001
        ctx.clock, ctx.key = clock, key
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: ANN001, ANN205
        ctx.clock[ctx.key] = time.process_time()
        if ctx.key == "end":
            ctx.clock["spent"] += ctx.clock["end"] - ctx.clock.pop("start")
        return grad, None, None


def measure(name: str, model: WorldModel, repeats: int) -> dict:
    planner = planner_for(name)
    z, goal = torch.randn(B, T, P, D), torch.randn(B, P, D)
    inner = make_cost_fn(model, z, goal, differentiable=planner.needs_gradients)
    clock = {"spent": 0.0}

    def cost_fn(actions: torch.Tensor) -> torch.Tensor:
        start = time.process_time()
        if actions.requires_grad:
            actions = _Stamp.apply(actions, clock, "end")
        cost = inner(actions)
        clock["spent"] += time.process_time() - start
        return _Stamp.apply(cost, clock, "start") if cost.requires_grad else cost

    planner.plan(cost_fn, B)
    totals, models = [], []
    for _ in range(repeats):
        clock["spent"] = 0.0
        start = time.process_time()
        planner.plan(cost_fn, B)
        totals.append(time.process_time() - start)
        models.append(clock["spent"])
    total, in_model = statistics.median(totals), statistics.median(models)
    return {"planner": name, "evaluations": planner.evaluations_per_plan, "seconds": total, "model": in_model,
            "fraction": in_model / total, "overhead_ms": 1000 * (total - in_model)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "planner_overhead.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = world_model()
    rows = [measure(name, model, args.repeats) for name in PLANNERS]
    lines = ["# Time in the model per plan", "", f"Command: `python benchmarks/planner_overhead.py --repeats "
             f"{args.repeats}`; 1 thread; load average before {os.getloadavg()[0]:.1f}. B={B} episodes, P={P}, "
             f"D={D}, width-128 tiny predictor, the CPU preset's budgets.", "",
             "| planner | evaluations per plan | CPU s per plan | in the model | % in the model "
             "| planner overhead (ms) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['planner']} | {r['evaluations']} | {r['seconds']:.3f} | {r['model']:.3f} | "
              f"{100 * r['fraction']:.1f} % | {r['overhead_ms']:.1f} |" for r in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    write_text_atomic(args.out, report)


if __name__ == "__main__":
    main()
