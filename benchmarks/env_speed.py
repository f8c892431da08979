"""Benchmark: rendering and stepping speed of every registered worldplan env.

For each env at ``--image-size`` pixels: ``render()`` alone at a fixed state, ``render_state()`` of
visited states (set the simulator, render, restore: what goal images and oracle rollouts cost), a
``step()`` with a uniform random action (every step renders its observation), ``advance()`` (a step without
rendering: what an oracle rollout costs per env step before its last frame), and a collection-like
loop of ``--episodes`` seeded episodes of ``--steps`` goal-policy steps each (reset included).
Rates are the median over ``--repeats`` timed blocks of ``--calls`` calls (the machine is shared).

Usage: ``.venv/bin/python benchmarks/env_speed.py [--image-size 64] [--episodes 100] [--steps 50]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from worldplan.envs import ENV_IDS, GoalEnv, make_goal_env

COLUMNS = (
    "env",
    "S",
    "render() frames/s",
    "render_state() frames/s",
    "step() steps/s",
    "advance() steps/s",
    "collect: episodes x steps",
    "collect: seconds",
    "collect: steps/s",
)


def rate(call: Callable[[], object], calls: int, repeats: int) -> float:
    """Median calls per second of ``call`` over ``repeats`` blocks of ``calls`` calls."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates)


def collect_seconds(env: GoalEnv, episodes: int, steps: int) -> float:
    """Wall time of ``episodes`` seeded resets, each followed by ``steps`` goal-policy steps."""
    start = time.perf_counter()
    for episode in range(episodes):
        env.reset(seed=episode)
        rng = np.random.default_rng(episode)
        for _ in range(steps):
            env.step(env.goal_policy_action(rng))
    return time.perf_counter() - start


def measure(env_id: str, args: argparse.Namespace) -> list[str]:
    """One table row for ``env_id``."""
    env = make_goal_env(env_id, image_size=args.image_size)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    space = env.action_space
    states = [env.step(rng.uniform(space.low, space.high))[4]["state"] for _ in range(16)]
    render_fps = rate(env.render, args.calls, args.repeats)
    visited = iter(states * (args.calls * args.repeats // len(states) + 1))
    render_state_fps = rate(lambda: env.render_state(next(visited)), args.calls, args.repeats)
    step_fps = rate(lambda: env.step(rng.uniform(space.low, space.high)), args.calls, args.repeats)
    advance_fps = rate(lambda: env.advance(rng.uniform(space.low, space.high)), args.calls, args.repeats)
    seconds = collect_seconds(env, args.episodes, args.steps)
    env.close()
    total = args.episodes * args.steps
    return [
        env_id,
        str(args.image_size),
        f"{render_fps:.0f}",
        f"{render_state_fps:.0f}",
        f"{step_fps:.0f}",
        f"{advance_fps:.0f}",
        f"{args.episodes} x {args.steps}",
        f"{seconds:.2f}",
        f"{total / seconds:.0f}",
    ]


def markdown(rows: list[list[str]], args: argparse.Namespace, load: float) -> str:
    """The result table with the machine, its load average at the start, and the command."""
    command = (
        f"`.venv/bin/python benchmarks/env_speed.py --image-size {args.image_size} "
        f"--episodes {args.episodes} --steps {args.steps} --calls {args.calls} --repeats {args.repeats}`"
    )
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores, MUJOCO_GL={os.environ.get('MUJOCO_GL')}"
    lines = [
        "# Env speed: rendering and stepping at a fixed image size",
        "",
        "Median over timed blocks; `step()` renders its observation, `advance()` does not; `collect` is seeded",
        "resets plus goal-policy steps (what `worldplan collect` does, without writing files). MuJoCo renders via EGL.",
        f"Machine: {machine}; 1-minute load average at the start {load:.1f} (a shared machine).",
        f"Command: {command}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--calls", type=int, default=100, help="calls per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per measurement")
    parser.add_argument("--envs", nargs="*", default=list(ENV_IDS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "env_speed.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = []
    for env_id in args.envs:
        rows.append(measure(env_id, args))
        print(" | ".join(rows[-1]), flush=True)
    table = markdown(rows, args, load)
    print(table)
    write_atomic(args.out, table)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
