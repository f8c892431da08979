"""Benchmark: our CEM and MPPI against pytorch_mppi's MPPI on the same objective and budget.

The objective is a 2-D point mass (double integrator, dt 0.2 s, accelerations in [-1, 1]^2) that must
end a horizon of H steps at a goal: cost = ||p_H - goal||^2, minimum 0 (the goal is reachable). Our
planners get it as ``cost_fn(actions (B, N, H, A)) -> (B, N)``; pytorch_mppi gets the same dynamics as
``dynamics(state, u)`` and the same cost as ``terminal_state_cost``, and is run for ``iterations``
refinements of one plan (``command(state, shift_nominal_trajectory=False)``). Every planner uses
N samples x iterations, initial std 1 and starts from zero actions; MPPI runs at the config
temperature 0.5 and at 0.01 (this cost spans about [0, 1], so 0.5 weights candidates almost evenly).
"Returned plan" is the objective of what each planner returns (ours: the best sequence seen;
pytorch_mppi: its nominal sequence U); "best sampled" is the lowest objective among all candidates
sampled (for pytorch_mppi found in a second, untimed run with extra cost calls). pytorch_mppi also adds
its own control-perturbation cost when it weights samples; that is part of its algorithm.

Usage: ``.venv/bin/python benchmarks/planners.py [--repeats 10] [--batch 16] [--out PATH]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from worldplan.planners import CEM, MPPI

DT = 0.2
GOAL = torch.tensor([0.4, -0.3])
LOW, HIGH = [-1.0, -1.0], [1.0, 1.0]
BUDGETS = [("DINO-WM", 300, 30, 5), ("CPU", 64, 5, 5)]  # (name, samples, iterations, horizon)


def step(state: Tensor, u: Tensor) -> Tensor:
    """Double integrator: state (..., 4) = (position, velocity), u (..., 2) acceleration -> next state."""
    vel = state[..., 2:] + DT * u
    return torch.cat([state[..., :2] + DT * vel, vel], dim=-1)


def terminal_cost(actions: Tensor) -> Tensor:
    """Our ``cost_fn``: actions (B, N, H, 2) from rest at the origin -> (B, N) squared distance to GOAL."""
    state = torch.zeros(*actions.shape[:-2], 4)
    for h in range(actions.shape[-2]):
        state = step(state, actions[..., h, :])
    return ((state[..., :2] - GOAL) ** 2).sum(dim=-1)


@dataclass(frozen=True)
class Contender:
    """One table row: ``plan(seed) -> actions (B, H, 2)`` is timed; ``best_sample(seed)`` (untimed) is
    the lowest cost among all candidates it sampled, when the planner does not return that itself."""

    name: str
    temperature: float | None
    batch: int
    plan: Callable[[int], Tensor]
    best_sample: Callable[[int], float] | None = None


def plan_ours(cls: type, budget: tuple[int, int, int], seed: int, batch: int, **extra: float) -> Tensor:
    """Plan with our CEM or MPPI; returns the best actions seen (batch, H, 2)."""
    samples, iterations, horizon = budget
    planner = cls(horizon=horizon, action_low=LOW, action_high=HIGH, num_samples=samples,
                  iterations=iterations, seed=seed, **extra)
    return planner.plan(terminal_cost, batch_size=batch).actions


def plan_pytorch_mppi(
    budget: tuple[int, int, int], seed: int, temperature: float, probe: list[float] | None = None
) -> Tensor:
    """Plan with pytorch_mppi.MPPI on the same objective; returns its nominal actions U (1, H, 2).

    With ``probe``, the lowest objective over every sampled sequence is appended to it (extra cost calls).
    """
    from pytorch_mppi import MPPI as ReferenceMPPI

    samples, iterations, horizon = budget
    torch.manual_seed(seed)  # pytorch_mppi samples from the global generator
    reference = ReferenceMPPI(
        step, lambda state, u: torch.zeros(state.shape[0]), nx=4, noise_sigma=torch.eye(2),
        num_samples=samples, horizon=horizon, lambda_=temperature, u_min=torch.tensor(LOW),
        u_max=torch.tensor(HIGH), U_init=torch.zeros(horizon, 2),
        terminal_state_cost=lambda states, actions: ((states[..., -1, :2] - GOAL) ** 2).sum(dim=-1),
    )
    best = float("inf")
    for _ in range(iterations):
        reference.command(torch.zeros(4), shift_nominal_trajectory=False)
        if probe is not None:
            best = min(best, terminal_cost(reference.perturbed_action.unsqueeze(0)).min().item())
    if probe is not None:
        probe.append(best)
    return reference.U.clamp(LOW[0], HIGH[0]).unsqueeze(0)


def contenders(budget: tuple[int, int, int], batch: int) -> list[Contender]:
    """Our CEM, our MPPI and pytorch_mppi's MPPI (at the config temperature 0.5 and at 0.01) on one budget."""

    def reference(temperature: float) -> Contender:
        def best_sample(seed: int) -> float:
            probe: list[float] = []
            plan_pytorch_mppi(budget, seed, temperature, probe)
            return probe[0]

        return Contender("pytorch_mppi MPPI (returns U)", temperature, 1,
                         lambda s: plan_pytorch_mppi(budget, s, temperature), best_sample)

    elites = min(30, budget[0])
    rows = [Contender("worldplan CEM", None, 1, lambda s: plan_ours(CEM, budget, s, 1, num_elites=elites))]
    for temperature in (0.5, 0.01):
        rows.append(Contender("worldplan MPPI", temperature, 1,
                              lambda s, t=temperature: plan_ours(MPPI, budget, s, 1, temperature=t)))
        rows.append(reference(temperature))
    rows.append(Contender("worldplan CEM", None, batch,
                          lambda s: plan_ours(CEM, budget, s, batch, num_elites=elites)))
    rows.append(Contender("worldplan MPPI", 0.5, batch, lambda s: plan_ours(MPPI, budget, s, batch, temperature=0.5)))
    return rows


def measure(rows: list[Contender], repeats: int) -> list[tuple[float, float, float, float, float]]:
    """Per contender: min and median ms per plan, mean and worst returned cost, mean best sampled cost.

    Each contender is warmed up once, then the seeds run round-robin over the contenders, so a burst of
    load from other processes on a shared machine hits all of them alike; the minimum is the least
    disturbed time.
    """
    for contender in rows:
        contender.plan(-1)
    times: list[list[float]] = [[] for _ in rows]
    costs: list[list[float]] = [[] for _ in rows]
    best: list[list[float]] = [[] for _ in rows]
    for seed in range(repeats):
        for i, contender in enumerate(rows):
            start = time.perf_counter()
            actions = contender.plan(seed)  # (B, H, 2)
            times[i].append(1000 * (time.perf_counter() - start))
            returned = terminal_cost(actions.unsqueeze(1)).flatten().tolist()
            costs[i].extend(returned)
            best[i].extend([contender.best_sample(seed)] if contender.best_sample else returned)
    return [
        (min(t), statistics.median(t), statistics.fmean(c), max(c), statistics.fmean(b))
        for t, c, b in zip(times, costs, best)
    ]


def run(repeats: int, batch: int) -> list[str]:
    """All rows of the results table."""
    lines = []
    for budget_name, samples, iterations, horizon in BUDGETS:
        rows = contenders((samples, iterations, horizon), batch)
        for c, (fastest, median, mean_cost, worst_cost, best) in zip(rows, measure(rows, repeats)):
            temperature = "-" if c.temperature is None else f"{c.temperature:g}"
            lines.append(f"| {budget_name} | {samples} x {iterations}, H={horizon} | {c.name} | {temperature} "
                         f"| {c.batch} | {fastest:.1f} | {median:.1f} | {fastest / c.batch:.2f} | {mean_cost:.1e} "
                         f"| {worst_cost:.1e} | {best:.1e} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="seeds per row (timing: min and median)")
    parser.add_argument("--batch", type=int, default=16, help="episodes planned at once in the batched rows")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared machine)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "planners.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    header = [
        "# Planners: worldplan CEM / MPPI vs pytorch_mppi MPPI",
        "",
        f"Objective: 2-D point mass, dt {DT} s, |a| <= 1, cost ||p_H - goal||^2 (optimum 0). "
        f"{args.repeats} seeds per row; time is the wall time of one `plan` (ours) or of "
        "`iterations` `command` calls (pytorch_mppi), min and median over seeds (the machine is shared, so "
        "the median is noisy); costs over all seeds and episodes.",
        f"Machine: {platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"torch threads: {torch.get_num_threads()}. Command: `.venv/bin/python benchmarks/planners.py "
        f"--repeats {args.repeats} --batch {args.batch} --threads {args.threads}`.",
        "",
        "| budget | samples x iterations | planner | temperature | B | ms / plan (min) | ms / plan (median) "
        "| ms / episode (min) | returned plan: mean cost | worst cost | best sampled: mean cost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = "\n".join(header + run(args.repeats, args.batch)) + "\n"
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(table)
    os.replace(tmp.name, args.out)


if __name__ == "__main__":
    main()
