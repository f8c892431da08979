"""Benchmark: one planner iteration (rollout + last-step cost), before/after this code, against a
DINO-WM-style predictor.

Setting (the issue's harness, DINO-WM's planning budget per iteration): B=1 episode, N=300 candidates,
H=5 model steps, T=3 context frames of P=64 patches (8 x 8, ViT-S/14 at 112 px) x D=384 features,
A=10, for the ``tiny`` and ``small`` (ViT-S-sized) predictor configs with action blocks. Rows:

- ``worldplan``: ``make_cost_fn(model, ...)`` as planners call it (last step only, fused memory
  projection, shared context keys and values).
- ``before``: the rollout of commit ``BEFORE`` (read from git, run on the same weights) with the cost
  over all H steps of which the last is kept, as that commit's cost did. Skipped outside a git checkout.
- ``dino-wm-style``: a predictor of the same width, depth and heads in DINO-WM's design: pre-norm
  self-attention blocks over the last 3 frames (frame-causal mask), re-run on the whole window at
  every step, the action embedding added to every token; its last frame's tokens give the prediction.

Times are CPU seconds of this process (``time.process_time``), the best of ``--repeats`` calls after a
warm-up, so other jobs on the machine disturb them less than wall time. "% of peak" divides the
useful FLOP rate (``torch.utils.flop_counter`` on one call) by the best square matmul (2048, 4096) of
the same dtype timed in the same run. bf16 rows are measured only where a bf16 matmul beats fp32 here.

Usage: ``.venv/bin/python benchmarks/rollout.py [--threads 1] [--repeats 2] [--out benchmarks/results/rollout.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from worldplan.atomic import write_text_atomic  # noqa: E402
from worldplan.config import compose  # noqa: E402
from worldplan.costs import latent_goal_cost, make_cost_fn  # noqa: E402
from worldplan.models import DataWindow, Predictor, WorldModel, autocast  # noqa: E402

B, N, H, T, GRID, D, A = 1, 300, 5, 3, (8, 8), 384, 10
BEFORE = "a3aff61"  # the last commit before the hot-path work (issue 12)
ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Least CPU time of ``repeats`` calls after a warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def matmul_rate(dtype: torch.dtype, sizes: tuple[int, ...], repeats: int) -> float:
    """Best FLOP per CPU-second of square matmuls."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, dtype=dtype)
        best = max(best, 2 * n**3 / cpu_seconds(lambda a=a: a @ a, repeats))
    return best


def build(name: str) -> WorldModel:
    """A world model with the ``predictor=<name>`` config and non-zero action blocks."""
    torch.manual_seed(0)
    predictor = Predictor.from_config(compose("config", [f"predictor={name}"]).predictor, feature_dim=D, grid=GRID,
                                      action_dim=A)
    with torch.no_grad():
        for param in predictor.actions.parameters():
            param.normal_(0.0, 0.02)
    return WorldModel(predictor=predictor, window=DataWindow(context=T, horizon=H, frameskip=5, fps=10.0)).eval()


class DinoWMStyle(nn.Module):
    """DINO-WM's predictor design at a given width: frame-causal self-attention over a sliding 3-frame window."""

    def __init__(self, *, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.in_proj, self.action = nn.Linear(D, width), nn.Linear(A, width)
        self.pos = nn.Parameter(torch.zeros(T * GRID[0] * GRID[1], width))
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True,
                                                               norm_first=True, activation="gelu")
                                    for _ in range(depth))
        self.head = nn.Linear(width, D)
        frame = torch.arange(T).repeat_interleave(GRID[0] * GRID[1])
        self.register_buffer("mask", frame[:, None] < frame[None, :])  # True: may not attend (a later frame)

    def rollout_last(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, T, P, D), (B, N, H, A) -> (B, N, P, D): the window re-run at every step."""
        p = z.shape[2]
        window = z[:, None].expand(-1, actions.shape[1], -1, -1, -1).flatten(0, 1)  # (B*N, T, P, D)
        for step in range(actions.shape[2]):
            x = self.in_proj(window).flatten(1, 2) + self.pos + self.action(actions[:, :, step]).flatten(0, 1)[:, None]
            for block in self.blocks:
                x = block(x, src_mask=self.mask)
            window = torch.cat([window[:, 1:], self.head(x[:, -p:])[:, None]], 1)
        return window[:, -1].unflatten(0, actions.shape[:2])


def before_rollout() -> types.ModuleType | None:
    """The rollout module of commit ``BEFORE``, or None outside a git checkout."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:worldplan/models/rollout.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("rollout_before")
    exec(compile(source, f"{BEFORE}:worldplan/models/rollout.py", "exec"), module.__dict__)  # noqa: S102 (our own code)
    return module


def iterations(model: WorldModel, old: types.ModuleType | None) -> dict[str, Callable[[], torch.Tensor]]:
    """Per row, one planner iteration as a call: rollout + cost of N candidates."""
    gen = torch.Generator().manual_seed(0)
    z, goal = torch.randn(B, T, *GRID, D, generator=gen).flatten(2, 3), torch.randn(B, GRID[0] * GRID[1], D)
    actions = torch.randn(B, N, H, A, generator=gen)
    arch = model.predictor.arch
    reference = DinoWMStyle(width=arch["width"], depth=arch["depth"], heads=arch["heads"]).eval()
    calls = {"worldplan": lambda: make_cost_fn(model, z, goal)(actions),
             "dino-wm-style": lambda: latent_goal_cost(reference.rollout_last(z, actions)[:, :, None], goal)}
    if old is not None:
        def before() -> torch.Tensor:
            normed, _ = model.normalize(actions, None)
            times, targets = model.frame_times(B, T), model.frame_times(B, H, start=T)
            embeddings = model.predictor.action_embedding(normed, None)
            return latent_goal_cost(old.rollout_shared(model.predictor, z, times, targets, embeddings, N), goal)
        calls["before"] = before
    return calls


def rows_for(name: str, dtypes: list[str], peaks: dict[str, float], old: types.ModuleType | None,
             repeats: int) -> list[dict]:
    model = build(name)
    calls = iterations(model, old)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        calls["worldplan"]()
    rows = []
    for dtype in dtypes:
        for row, call in calls.items():
            def timed_call(call=call, dtype=dtype) -> object:
                with torch.no_grad(), autocast("cpu", dtype):
                    return call()
            seconds = cpu_seconds(timed_call, repeats)
            useful = counter.get_total_flops() / seconds / peaks[dtype]
            rows.append({"predictor": name, "dtype": dtype, "row": row, "seconds": seconds,
                         "peak_frac": useful if row == "worldplan" else None})
            print(rows[-1], flush=True)
    return rows


def render(rows: list[dict], info: dict) -> str:
    lines = ["# Planner iteration: rollout + last-step cost", "", f"Command: `{info['command']}`", "",
             f"Machine: {info['machine']}; load average (1 min) before {info['load_before']}, after "
             f"{info['load_after']}. Matmul peaks (GFLOP per CPU-s): "
             + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in info["peaks"].items()) + f"; bf16: {info['bf16']}.",
             "", f"Setting: B={B}, N={N}, H={H}, T={T}, P={GRID[0] * GRID[1]}, D={D}, A={A}. CPU seconds per "
             "iteration (best of the repeats).", "",
             "| predictor | dtype | worldplan (s) | before (s) | dino-wm-style (s) | before / worldplan | "
             "dino-wm-style / worldplan | worldplan % of its dtype's matmul peak |",
             "|---|---|---|---|---|---|---|---|"]
    for name, dtype in dict.fromkeys((r["predictor"], r["dtype"]) for r in rows):
        cell = {r["row"]: r for r in rows if (r["predictor"], r["dtype"]) == (name, dtype)}
        ours, ref, old = cell["worldplan"]["seconds"], cell["dino-wm-style"]["seconds"], cell.get("before")
        lines.append(f"| {name} | {dtype} | {ours:.3f} | {old['seconds'] if old else float('nan'):.3f} | {ref:.3f} | "
                     f"{old['seconds'] / ours if old else float('nan'):.2f}x | {ref / ours:.2f}x | "
                     f"{100 * cell['worldplan']['peak_frac']:.0f} % |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--predictors", nargs="+", default=["tiny", "small"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rollout.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = f"{os.getloadavg()[0]:.1f}"
    peaks = {"fp32": matmul_rate(torch.float32, (2048, 4096), args.repeats)}
    bf16 = matmul_rate(torch.bfloat16, (1024,), 1)
    fp32 = matmul_rate(torch.float32, (1024,), 1)
    dtypes = ["fp32", "bf16"] if bf16 > fp32 else ["fp32"]
    if bf16 > fp32:
        peaks["bf16"] = matmul_rate(torch.bfloat16, (2048, 4096), args.repeats)
    bf16_note = (f"a 1024^2 matmul runs at {bf16 / fp32:.2f}x the fp32 rate"
                 + ("" if bf16 > fp32 else ", so no bf16 rows (bf16 is slower on this CPU)"))
    old = before_rollout()
    rows = [row for name in args.predictors for row in rows_for(name, dtypes, peaks, old, args.repeats)]
    info = {"command": f"python benchmarks/rollout.py --threads {args.threads} --repeats {args.repeats} "
                       f"--predictors {' '.join(args.predictors)}",
            "machine": f"{platform.processor() or platform.machine()}, {args.threads} thread(s), "
                       f"torch {torch.__version__}",
            "load_before": load_before, "load_after": f"{os.getloadavg()[0]:.1f}", "peaks": peaks, "bf16": bf16_note}
    report = render(rows, info)
    print(report)
    write_text_atomic(args.out, report)


if __name__ == "__main__":
    sys.exit(main())
