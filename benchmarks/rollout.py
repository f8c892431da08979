"""Benchmark: world-model rollout throughput, shared-context vs naive, bf16 vs fp32, against matmul peak.

Setting (the DINO-WM planning budget): B=1 episode, N=300 candidates, H=5 model steps, T=3 context
frames of P=64 patches (8 x 8, ViT-S/14 at 112 px) x D=384 features, A=10 (frameskip 5 x 2-d
actions), for the ``tiny`` and ``small`` (ViT-S-sized) predictor configs with action blocks.

- ``shared``: `WorldModel.rollout` (context keys/values once per episode, shared by the candidates).
- ``naive``: `WorldModel.rollout_naive` (one candidate at a time, full recomputation per step); it
  is timed on ``--naive-candidates`` candidates (its cost is linear in N) and reported per
  candidate-step like the shared one.
- Useful FLOPs are the matmul/attention FLOPs of one shared rollout, counted by
  ``torch.utils.flop_counter``; "% of peak" divides the achieved useful FLOP per CPU-second by that
  of the best square matmul (2048 and 4096, same dtype) timed in the same run.
- Every call is timed twice: wall clock, and CPU time of this process (``time.process_time``, all
  threads; OpenMP threads wait passively, so waiting is not counted). On a machine shared with
  other jobs the wall clock measures the other jobs too, and varies several-fold within one run;
  CPU time measures the work, so the rates and ratios below are per CPU-second. Each timing is the
  best (least disturbed) of ``--repeats`` calls after a warm-up call with 2 candidates.
- The encoder table times the frozen ViT-S/14 (random weights: same cost) at 112 px, batch 16.

The 1-minute load average before and after is recorded.

Usage: ``.venv/bin/python benchmarks/rollout.py [--threads 2] [--repeats 1] [--naive-candidates 8]
[--out benchmarks/results/rollout.md]``
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: idle threads sleep

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from worldplan.config import compose  # noqa: E402
from worldplan.models import DataWindow, FrozenEncoder, Predictor, WorldModel, autocast  # noqa: E402
from worldplan.models.precision import cpu_has_amx  # noqa: E402

N, H, T, GRID, D, A = 300, 5, 3, (8, 8), 384, 10
DTYPES = ("bf16", "fp32")


def timed(fn: Callable[[], object], repeats: int, warmup: Callable[[], object] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of the call with the least CPU time among ``repeats``, after a warm-up call."""
    (warmup or fn)()
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best = min(best, (wall, cpu), key=lambda pair: pair[1])
    return best


def matmul_peak(dtype: str, repeats: int) -> float:
    """Best FLOP per CPU-second of square matmuls (2048, 4096) in ``dtype``."""
    best = 0.0
    for n in (2048, 4096):
        a = torch.randn(n, n, dtype=torch.bfloat16 if dtype == "bf16" else torch.float32)
        _, cpu = timed(lambda: a @ a, repeats)
        best = max(best, 2 * n**3 / cpu)
    return best


def build(name: str) -> WorldModel:
    """A world model with the ``predictor=<name>`` config, action blocks made non-zero."""
    torch.manual_seed(0)
    cfg = compose("config", [f"predictor={name}"]).predictor
    predictor = Predictor.from_config(cfg, feature_dim=D, grid=GRID, action_dim=A)
    with torch.no_grad():
        for param in predictor.actions.parameters():
            param.normal_(0.0, 0.02)
    return WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=H, frameskip=5, fps=10.0)).eval()


def useful_flops(model: WorldModel, z: torch.Tensor, actions: torch.Tensor) -> int:
    """Matmul and attention FLOPs of one shared rollout."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.rollout(z, actions)
    return counter.get_total_flops()


def rollout_rows(name: str, peaks: dict[str, float], args: argparse.Namespace) -> list[dict]:
    """Time shared and naive rollouts of predictor ``name`` in both dtypes."""
    model = build(name)
    gen = torch.Generator().manual_seed(0)
    z, actions = torch.randn(1, T, GRID[0] * GRID[1], D, generator=gen), torch.randn(1, N, H, A, generator=gen)
    flops_per_cand_step = useful_flops(model, z, actions) / (N * H)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    rows = []
    for dtype in DTYPES:
        for kind, n in (("shared", N), ("naive", args.naive_candidates)):
            run = model.rollout if kind == "shared" else model.rollout_naive

            def call(run=run, n=n, dtype=dtype) -> torch.Tensor:
                with torch.no_grad(), autocast("cpu", dtype):
                    return run(z, actions[:, :n])

            def warm(run=run, dtype=dtype) -> torch.Tensor:
                with torch.no_grad(), autocast("cpu", dtype):
                    return run(z, actions[:, :2])

            wall, cpu = timed(call, args.repeats, warm)
            rate = n * H / cpu
            flops = rate * flops_per_cand_step
            rows.append({"predictor": name, "params_m": params, "rollout": kind, "dtype": dtype, "n": n,
                         "wall": wall, "cpu": cpu, "wall_rate": n * H / wall, "rate": rate,
                         "gflops": flops / 1e9, "peak_frac": flops / peaks[dtype]})
            logging.info("%s %s %s: %.3f s wall, %.3f s CPU", name, kind, dtype, wall, cpu)
    return rows


def encoder_rates(repeats: int) -> dict[str, float]:
    """Images per CPU-second of the ViT-S/14 encoder at 112 px, batch 16, per dtype."""
    frames = torch.randint(0, 256, (16, 112, 112, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    rates = {}
    for dtype in DTYPES:
        encoder = FrozenEncoder(weights="random", image_size=112, dtype=dtype)
        rates[dtype] = frames.shape[0] / timed(lambda enc=encoder: enc(frames), repeats)[1]
    return rates


def render(rows: list[dict], peaks: dict[str, float], encoder: dict[str, float], info: dict) -> str:
    """The markdown report."""
    lines = ["# Rollout benchmark", "", f"Command: `{info['command']}`", "",
             f"Machine: {info['machine']}; load average (1 min) before {info['load_before']}, "
             f"after {info['load_after']}.", "",
             f"Setting: B=1, N={N}, H={H}, T={T} context frames, P={GRID[0] * GRID[1]}, D={D}, A={A}.", "",
             f"Matmul peak (best of 2048^2 / 4096^2, per CPU-second): bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s, "
             f"fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s.", "",
             "| predictor | params (M) | rollout | dtype | candidates timed | wall s per call | CPU s per call "
             "| candidate-steps per wall-s | candidate-steps per CPU-s | useful GFLOP per CPU-s | % of matmul peak |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['predictor']} | {r['params_m']:.2f} | {r['rollout']} | {r['dtype']} | {r['n']} | "
              f"{r['wall']:.3f} | {r['cpu']:.3f} | {r['wall_rate']:.3g} | {r['rate']:.3g} | {r['gflops']:.3g} | "
              f"{100 * r['peak_frac']:.1f} |" for r in rows]
    lines += ["", "Shared over naive speed-up (candidate-steps per CPU-second):", ""]
    for name in dict.fromkeys(r["predictor"] for r in rows):
        for dtype in DTYPES:
            rate = {r["rollout"]: r["rate"] for r in rows if r["predictor"] == name and r["dtype"] == dtype}
            lines.append(f"- {name} {dtype}: {rate['shared'] / rate['naive']:.1f}x")
    if max(float(info["load_before"]), float(info["load_after"])) > info["threads"]:
        lines += ["", "Note: the machine was busy with other jobs (load average above the thread count): wall "
                  "times include waiting for them; compare the CPU-time columns."]
    lines += ["", f"Encoder ViT-S/14 at 112 px, batch 16: bf16 {encoder['bf16']:.1f} img per CPU-s, fp32 "
              f"{encoder['fp32']:.1f} (bf16 / fp32 = {encoder['bf16'] / encoder['fp32']:.2f}).", ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--naive-candidates", type=int, default=8)
    parser.add_argument("--predictors", nargs="+", default=["tiny", "small"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rollout.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    bf16_isa = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    flags = f"AMX {'yes' if cpu_has_amx() else 'no'}, avx512_bf16 {'yes' if bf16_isa else 'no'}"
    info = {"command": "python benchmarks/rollout.py " + " ".join(
                f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()
                if k != "out"),
            "threads": args.threads, "load_before": f"{os.getloadavg()[0]:.1f}",
            "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads, {flags}, "
                       f"torch {torch.__version__}"}
    peaks = {dtype: matmul_peak(dtype, args.repeats) for dtype in DTYPES}
    rows = [row for name in args.predictors for row in rollout_rows(name, peaks, args)]
    encoder = encoder_rates(args.repeats)
    info["load_after"] = f"{os.getloadavg()[0]:.1f}"
    report = render(rows, peaks, encoder, info)
    print(report)
    write_atomic(args.out, report)


if __name__ == "__main__":
    main()
