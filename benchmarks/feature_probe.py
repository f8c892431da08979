"""Benchmark: how much of each env's task state a linear readout of the frozen encoder's features recovers.

Planning can only reach a goal the latent cost tells apart from other states: if the encoder's features
hardly carry the task's state, no predictor trained on them can plan well. Per env, ``--episodes``
random-policy episodes (the grid's collection policy; seeds from 20000, never a grid episode), every
``--stride``-th frame; each ``--sizes`` side renders the frames at ``max(64, side)`` px (the grid renders
at 64 for its 56-px encoder) and encodes them with the ViT-S/14 (random weights, as the grid). A ridge
readout (penalty chosen on validation episodes) maps the flattened features to the task state: the
agent's (x, y) on Wall and PointMaze, the fingertip (x, y) on Reacher, the block's (x, y, sin, cos of
its angle) and apart the pusher's (x, y) on PushT. ``pixels`` reads out the 56-px RGB frame itself,
the same way: what a linear readout gets without the encoder. Table: held-out R^2 over the target's
coordinates (1: the state is a linear function of the features; 0: no better than its mean), split
70 / 15 / 15 % by episode; and the share of the features' variance that is within episodes (what moves
while the scene is the same: all a predictor's actions can change; the rest, the differences between
episodes, copying the last frame already predicts).

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.feature_probe [--envs wall reacher]
[--sizes 56 112] [--episodes 120] [--out benchmarks/results/feature_probe.md]``
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from envs.reacher import fingertip
from worldplan.atomic import write_text_atomic
from worldplan.config import compose
from worldplan.data.collect import collect
from worldplan.evaluate.metrics import markdown_table
from worldplan.models.encoder import FrozenEncoder

PIXEL_SIDE = 56
PENALTIES = (1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)
TARGETS: dict[str, dict[str, Callable[[np.ndarray], np.ndarray]]] = {
    "wall": {"agent (x, y)": lambda s: s[:, :2]},
    "pointmaze": {"ball (x, y)": lambda s: s[:, :2]},
    "reacher": {"fingertip (x, y)": fingertip},
    "pusht": {"block (x, y, angle)": lambda s: np.c_[s[:, 2:4], np.sin(s[:, 4]), np.cos(s[:, 4])],
              "pusher (x, y)": lambda s: s[:, :2]},
}


def episode_frames(env: str, render: int, episodes: int, stride: int, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every ``stride``-th frame of ``episodes`` random-policy episodes and their true states:
    ((E, T', S, S, 3) uint8, (E, T', state_dim) float32)."""
    cfg = compose("config", [f"env={env}"]).env
    dataset = collect(cfg.id, {**cfg.kwargs, "image_size": render}, root / f"{env}-{render}", episodes=episodes,
                      steps=50, policy="random", seed=20000, noise=0.0, progress=False)
    items = [dataset[i] for i in range(len(dataset))]
    return (np.stack([e.frames[::stride] for e in items]), np.stack([e.states[::stride] for e in items]))


def encode(frames: np.ndarray, side: int) -> np.ndarray:
    """(E, T', S, S, 3) uint8 -> (E, T', P * D) float64 features of the random-weight ViT-S/14 at ``side`` px."""
    encoder = FrozenEncoder.from_config(compose("config", ["encoder.weights=random",
                                                           f"encoder.image_size={side}"]).encoder)
    flat = torch.from_numpy(frames.reshape(-1, *frames.shape[2:]))
    with torch.no_grad():
        z = torch.cat([encoder(flat[i:i + 64]) for i in range(0, len(flat), 64)])
    return z.flatten(1).double().numpy().reshape(*frames.shape[:2], -1)


def pixels(frames: np.ndarray) -> np.ndarray:
    """(E, T', S, S, 3) uint8 -> (E, T', 56 * 56 * 3) float64 frames resized to 56 px."""
    flat = torch.from_numpy(frames.reshape(-1, *frames.shape[2:])).permute(0, 3, 1, 2).float() / 255
    small = F.interpolate(flat, size=(PIXEL_SIDE, PIXEL_SIDE), mode="bilinear", antialias=True)
    return small.flatten(1).double().numpy().reshape(*frames.shape[:2], -1)


def ridge_r2(x: np.ndarray, y: np.ndarray) -> float:
    """Held-out R^2 of a ridge readout ``x -> y`` ((E, T', F) -> (E, T', K)), split by episode into
    70 / 15 / 15 % train / validation / test, the penalty picked on validation (dual form: F >> samples)."""
    cut = np.cumsum([int(0.7 * len(x)), int(0.15 * len(x))])
    parts = [a.reshape(-1, a.shape[-1]) for a in (x[:cut[0]], x[cut[0]:cut[1]], x[cut[1]:],
                                                    y[:cut[0]], y[cut[0]:cut[1]], y[cut[1]:])]
    x_train, x_val, x_test, y_train, y_val, y_test = parts
    mean, scale = x_train.mean(0), x_train.std(0) + 1e-2 * x_train.std(0).mean()  # no blow-up on constant features
    x_train, x_val, x_test = ((a - mean) / scale for a in (x_train, x_val, x_test))
    y_mean, gram = y_train.mean(0), x_train @ x_train.T
    best = (np.inf, 0.0)
    for penalty in PENALTIES:
        weights = x_train.T @ np.linalg.solve(gram + penalty * np.eye(len(gram)), y_train - y_mean)
        val_error = ((x_val @ weights + y_mean - y_val) ** 2).mean()
        test_r2 = 1 - ((x_test @ weights + y_mean - y_test) ** 2).sum() / ((y_test - y_test.mean(0)) ** 2).sum()
        best = min(best, (val_error, test_r2))
    return float(best[1])


def moving_share(x: np.ndarray) -> float:
    """Within-episode variance over total variance, summed over features: (E, T', F) -> [0, 1]."""
    return float(x.var(axis=1).mean(0).sum() / x.reshape(-1, x.shape[-1]).var(0).sum())


def probe_env(env: str, sizes: list[int], episodes: int, stride: int, root: Path) -> list[dict]:
    """One row per readout (the features at each side, then the pixels) x task-state target."""
    readouts = [*sizes, None]  # None: the pixels, rendered as the grid renders
    renders = {max(64, side or 64) for side in readouts}
    episodes_at = {render: episode_frames(env, render, episodes, stride, root) for render in renders}  # read once
    rows = []
    for side in readouts:
        frames, states = episodes_at[max(64, side or 64)]
        x = encode(frames, side) if side else pixels(frames)
        for target, of_state in TARGETS[env].items():
            y = of_state(states.reshape(-1, states.shape[-1])).reshape(*states.shape[:2], -1)
            rows.append({"env": env, "readout": f"ViT-S/14 {side} px" if side else f"pixels {PIXEL_SIDE} px",
                         "features": x.shape[-1], "moving share": round(moving_share(x), 3), "target": target,
                         "test R2": round(ridge_r2(x, y), 3)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(TARGETS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[56, 112])
    parser.add_argument("--episodes", type=int, default=120)
    parser.add_argument("--stride", type=int, default=5, help="keep every k-th frame (the grid's frameskip)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/feature_probe.md"))
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        rows = [row for env in args.envs for row in probe_env(env, args.sizes, args.episodes, args.stride, Path(root))]
    command = (f"OMP_NUM_THREADS=1 python -m benchmarks.feature_probe --envs {' '.join(args.envs)} --sizes "
               f"{' '.join(map(str, args.sizes))} --episodes {args.episodes} --stride {args.stride}")
    text = "\n".join([
        "# Linear readout of the task state from the encoder's features (random-weight ViT-S/14)", "",
        f"Command: `{command}` ({time.perf_counter() - start:.0f} s, {torch.get_num_threads()} thread(s)); "
        f"{platform.machine()}, torch {torch.__version__}.", "",
        markdown_table(rows, ["env", "readout", "features", "moving share", "target", "test R2"])]) + "\n"
    print(text)
    write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
