"""Does bf16 autocast speed up a predictor training step on this machine? Prints and saves a table.

Usage: ``python benchmarks/train_amp.py [--threads 1] [--steps 5] [--out benchmarks/results/train_amp.md]``

Times fwd + bwd + AdamW step of the objective the trainer runs (smooth-L1 next-frame prediction,
block-causal), fp32 vs ``torch.autocast(bfloat16)``, for a few predictor and clip sizes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from worldplan.models.precision import autocast, cpu_has_amx
from worldplan.models.predictor import Predictor, smooth_l1

CASES = [  # (width, depth, heads, frames L, patches P, batch)
    (128, 4, 4, 4, 16, 32),
    (192, 4, 4, 8, 16, 32),
    (192, 4, 4, 4, 64, 32),
    (384, 6, 6, 4, 64, 16),
]
D = 384


def time_step(case: tuple[int, ...], dtype: str, steps: int) -> float:
    """Median seconds per training step."""
    width, depth, heads, frames, patches, batch = case
    side = int(patches**0.5)
    torch.manual_seed(0)
    model = Predictor(feature_dim=D, grid=(side, side), width=width, depth=depth, heads=heads)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    z = torch.randn(batch, frames, patches, D)
    times = torch.arange(frames).float().expand(batch, frames) * 0.2
    seconds = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with autocast(torch.device("cpu"), dtype):
            loss = smooth_l1(model(z, times), z[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        seconds.append(time.perf_counter() - start)
    return sorted(seconds[1:])[len(seconds[1:]) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/train_amp.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lines = ["| width | depth | L | P | batch | fp32 s/step | bf16 s/step | bf16 speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for case in CASES:
        fp32, bf16 = time_step(case, "fp32", args.steps), time_step(case, "bf16", args.steps)
        width, depth, _, frames, patches, batch = case
        lines.append(f"| {width} | {depth} | {frames} | {patches} | {batch} "
                     f"| {fp32:.3f} | {bf16:.3f} | {fp32 / bf16:.2f}x |")
        print(lines[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# bf16 autocast vs fp32, predictor training step\n\nCPU, {args.threads} thread(s), AMX tiles: "
              f"{cpu_has_amx()}, torch {torch.__version__}; median of {args.steps} steps after one warm-up.\n\n")
    out.write_text(header + "\n".join(lines) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
