"""GPU check: encoder, training step and one DINO-WM-budget plan, fp32 vs bf16 (and torch.compile), in minutes.

Run on a machine with a CUDA device through ``benchmarks/gpu_check.sh`` (which first runs the ``gpu``
tests). Setting at DINO-WM scale: frames at 224 px (ViT-S/14: 16 x 16 = 256 patches of 384 features),
the ``small`` predictor (ViT-S-sized: width 384, depth 6, 6 heads) with action blocks (A = 10),
context T = 3; a training step on batch 32 windows of 3 + 1 frames (teacher forcing + a 1-step
rollout loss); a CEM plan of 300 samples x 30 iterations x H = 5 for one episode (DINO-WM's budget).
Weights are random (same cost as trained ones). Each time is the median of a few calls after a
warm-up, with ``torch.cuda.synchronize`` around it. ``--device cpu --quick`` runs the same code at tiny
sizes (what the test suite does), to check the script without a GPU.

Usage: ``python benchmarks/gpu_check.py [--device cuda] [--out benchmarks/results/gpu_check.md]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from worldplan.atomic import write_text_atomic
from worldplan.costs import make_cost_fn
from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel, autocast
from worldplan.planners.cem import CEM
from worldplan.train.objective import NextFrameObjective

FULL = {"image": 224, "width": 384, "depth": 6, "heads": 6, "batch": 32, "samples": 300, "iterations": 30,
        "encode_batch": 256}
QUICK = {"image": 28, "width": 32, "depth": 1, "heads": 2, "batch": 2, "samples": 8, "iterations": 2,
         "encode_batch": 4}
T, H, A = 3, 5, 10


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up, synchronised on CUDA."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def world_model(size: dict, patches: int, device: torch.device) -> WorldModel:
    side = int(patches**0.5)
    predictor = Predictor(feature_dim=384, grid=(side, side), width=size["width"], depth=size["depth"],
                          heads=size["heads"], action_dim=A)
    return WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=1, frameskip=5, fps=10.0)).to(device)


def encoder_row(size: dict, device: torch.device, dtype: str, repeats: int) -> dict:
    encoder = FrozenEncoder(weights="random", image_size=size["image"], dtype=dtype, device=device)
    frames = torch.randint(0, 256, (size["encode_batch"], 1, size["image"], size["image"], 3), dtype=torch.uint8,
                           device=device)
    seconds = timed(lambda: encoder(frames), device, repeats)
    return {"what": f"encode ViT-S/14 at {size['image']} px", "dtype": dtype, "seconds": seconds,
            "rate": f"{size['encode_batch'] / seconds:.0f} img/s"}


def train_row(size: dict, patches: int, device: torch.device, dtype: str, compiled: bool, repeats: int) -> dict:
    model = world_model(size, patches, device)
    objective = NextFrameObjective(model, use_actions=True, rollout_weight=1.0)
    step_fn = torch.compile(objective) if compiled else objective
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = {"z": torch.randn(size["batch"], T + 1, patches, 384, device=device),
             "actions": torch.randn(size["batch"], T, A, device=device)}

    def step() -> None:
        with autocast(device, dtype):
            loss = step_fn(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = timed(step, device, repeats)
    return {"what": f"train step, batch {size['batch']}" + (" (compiled)" if compiled else ""), "dtype": dtype,
            "seconds": seconds, "rate": f"{size['batch'] / seconds:.0f} windows/s"}


def plan_row(size: dict, patches: int, device: torch.device, dtype: str, repeats: int) -> dict:
    model = world_model(size, patches, device).eval()
    z, goal = torch.randn(1, T, patches, 384, device=device), torch.randn(1, patches, 384, device=device)
    cost_fn = make_cost_fn(model, z, goal)
    planner = CEM(horizon=H, action_low=[-1.0] * A, action_high=[1.0] * A, num_samples=size["samples"],
                  num_elites=max(2, size["samples"] // 10), iterations=size["iterations"], device=device)

    def plan() -> None:
        with torch.no_grad(), autocast(device, dtype):
            planner.plan(cost_fn, batch_size=1)

    seconds = timed(plan, device, repeats)
    return {"what": f"CEM plan {size['samples']} x {size['iterations']} x H{H}", "dtype": dtype, "seconds": seconds,
            "rate": f"{size['samples'] * size['iterations'] * H / seconds:.3g} candidate-steps/s"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a CPU check of the script)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_check.md")
    args = parser.parse_args()
    device, size = torch.device(args.device), QUICK if args.quick else FULL
    patches = (size["image"] // 14) ** 2
    rows = []
    for dtype in ("fp32", "bf16"):
        rows.append(encoder_row(size, device, dtype, args.repeats))
        rows.append(train_row(size, patches, device, dtype, False, args.repeats))
        rows.append(plan_row(size, patches, device, dtype, args.repeats))
        print(rows[-3:], flush=True)
    if device.type == "cuda":
        rows.append(train_row(size, patches, device, "bf16", True, args.repeats))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    lines = [f"# GPU check on {name}", "", f"Command: `python benchmarks/gpu_check.py --device {args.device}"
             f"{' --quick' if args.quick else ''}`; torch {torch.__version__}; {patches} patches; random weights.", "",
             "| what | dtype | seconds | rate |", "|---|---|---|---|"]
    lines += [f"| {r['what']} | {r['dtype']} | {r['seconds']:.4f} | {r['rate']} |" for r in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    write_text_atomic(args.out, report)


if __name__ == "__main__":
    main()
