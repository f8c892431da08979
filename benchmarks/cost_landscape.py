"""Benchmark: how well a checkpoint's latent cost ranks action sequences on Wall, against the oracle's.

For each of ``--tasks`` Wall goal tasks (goals ``--offset`` env steps away, task seeds ``seed + i``),
N random action sequences of H model steps are scored three ways. ``--proposal uniform`` draws them
uniform in the action bounds (what a planner's first iteration sees: mostly far from the goal);
``toward_goal`` draws noisy constant velocities around the one that would cover the start-to-goal
displacement in H model steps (what later iterations see: many near the goal):

- the checkpoint's latent cost (its rollout from the start frame against the goal latent);
- the oracle's latent cost (the true frames of each sequence, encoded by the same encoder);
- the true outcome: the distance between the dot and the goal after executing the sequence.

Per scorer the table gives the Spearman rank correlation of its cost with the true distance, and
the true distance reached by the sequence it ranks first, beside the best and the median of the N
sequences. A planner can only do as well as its cost ranks sequences: a scorer whose first choice is
no better than the median cannot guide CEM or MPPI, however large the budget.

Usage (from the repository root): ``.venv/bin/python -m benchmarks.cost_landscape --checkpoints
runs/benchmark/cpu/wall/checkpoints/pretrained-n100-s0 ... [--tasks 20] [--samples 64]
[--out benchmarks/results/cost_landscape.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from scipy.stats import spearmanr

import worldplan.envs  # noqa: F401  (registers worldplan/Wall-v0)
from worldplan.costs import make_cost_fn
from worldplan.evaluate.metrics import markdown_table
from worldplan.evaluate.oracle import OracleModel
from worldplan.models.checkpoint import load_world_model

ENV_ID, ENV_KWARGS, HORIZON = "worldplan/Wall-v0", {"image_size": 64}, 5
STEP_SCALE = 2.0  # Wall moves the dot 2 units per unit of action per env step


def final_distances(env, start: np.ndarray, goal: np.ndarray, env_actions: np.ndarray) -> np.ndarray:
    """(N,) dot-to-goal distance after each candidate's (N, steps, A_env) env actions from ``start``."""
    distances = []
    for sequence in env_actions:
        env.set_state(start)
        for action in sequence:
            env.step(action)
        distances.append(float(np.linalg.norm(env.get_state()[:2] - goal[:2])))
    return np.array(distances)


def propose(kind: str, start: np.ndarray, goal: np.ndarray, samples: int, steps: int, seed: int) -> np.ndarray:
    """(N, steps, 2) env actions in [-1, 1]: uniform, or noisy constant velocities toward the goal."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(-1, 1, (samples, steps, 2)).astype(np.float32)
    velocity = (goal[:2] - start[:2]) / (STEP_SCALE * steps)  # covers the displacement in `steps` env steps
    scale = rng.uniform(0.5, 1.5, (samples, 1, 1))
    return np.clip(velocity * scale + rng.normal(0, 0.3, (samples, steps, 2)), -1, 1).astype(np.float32)


def score_task(model, oracle: OracleModel, env, seed: int, offset: int, samples: int, proposal: str) -> dict:
    """True distances (N,) and the model's and oracle's costs (N,) of N proposed sequences for one task."""
    task = env.sample_goal_task(seed, offset)  # leaves the env at the start state
    start_frame = env.render()
    frameskip = model.window.frameskip
    env_actions = propose(proposal, task.start_state, task.goal_state, samples, HORIZON * frameskip, seed)
    actions = torch.from_numpy(env_actions.reshape(1, samples, HORIZON, -1))
    z_start = model.encode(torch.from_numpy(start_frame)[None, None])
    z_goal = model.encode(torch.from_numpy(task.goal_image)[None, None])[:, 0]
    oracle.set_true_states([task.start_state])
    return {
        "true": final_distances(env, task.start_state, task.goal_state, env_actions),
        "model": make_cost_fn(model, z_start, z_goal)(actions)[0].numpy(),
        "oracle": make_cost_fn(oracle, z_start, z_goal)(actions)[0].numpy(),
    }


def summarise(name: str, proposal: str, scored: list[dict[str, np.ndarray]]) -> list[dict]:
    """One row per scorer (model, oracle): means over tasks."""
    rows = []
    for scorer in ("model", "oracle"):
        rows.append({
            "checkpoint": name, "proposal": proposal, "scorer": scorer,
            "spearman_cost_vs_distance": np.mean([spearmanr(s[scorer], s["true"])[0] for s in scored]),
            "distance_of_first_choice": np.mean([s["true"][np.argmin(s[scorer])] for s in scored]),
            "best_distance": np.mean([s["true"].min() for s in scored]),
            "median_distance": np.mean([np.median(s["true"]) for s in scored]),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", type=Path, required=True)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--proposals", nargs="+", default=["uniform", "toward_goal"],
                        choices=["uniform", "toward_goal"])
    parser.add_argument("--offset", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cost_landscape.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = gym.make(ENV_ID, **ENV_KWARGS).unwrapped
    rows = []
    for checkpoint in args.checkpoints:
        model = load_world_model(checkpoint)
        oracle = OracleModel(env_id=ENV_ID, env_kwargs=ENV_KWARGS, encoder=model.encode,
                             frameskip=model.window.frameskip)
        for proposal in args.proposals:
            scored = [score_task(model, oracle, env, args.seed + i, args.offset, args.samples, proposal)
                      for i in range(args.tasks)]
            rows += summarise(checkpoint.name, proposal, scored)
        oracle.close()
    table = markdown_table(rows, float_format=".3g")
    header = (f"# Cost landscape on Wall: model and oracle costs against true outcomes\n\n"
              f"Command: `python -m benchmarks.cost_landscape --checkpoints {' '.join(map(str, args.checkpoints))} "
              f"--tasks {args.tasks} --samples {args.samples} --proposals {' '.join(args.proposals)} "
              f"--offset {args.offset} "
              f"--seed {args.seed}`\n\n"
              f"Machine: {platform.machine()}, {args.threads} threads, torch {torch.__version__}, load average "
              f"{os.getloadavg()[0]:.1f}. {args.tasks} goal tasks {args.offset} env steps away, {args.samples} "
              f"proposed sequences of H={HORIZON} model steps each; distances in arena units (success "
              "< 4.5), means over tasks.\n\n")
    print(header + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + table + "\n")


if __name__ == "__main__":
    main()
