"""Benchmark: our CEM, iCEM and MPPI against stable-worldmodel's solvers and pytorch_mppi, same objective and budget.

The objective is a 2-D point mass (double integrator, dt 0.2 s, accelerations in [-1, 1]^2) that must end a
horizon of H steps at a goal: cost = ||p_H - goal||^2, minimum 0 (the goal is reachable). Every planner gets
the same callable ``clipped_cost(actions (B, N, H, A)) -> (B, N)``, which clamps actions to the bounds (as the
environment would) before the rollout: stable-worldmodel's CEMSolver and MPPISolver do not bound their samples.
stable-worldmodel's solvers get it as ``get_cost(info_dict, candidates)`` of a small adapter; pytorch_mppi
gets the same dynamics as ``dynamics(state, u)`` and the cost as ``terminal_state_cost``, and is run for
``iterations`` refinements of one plan (``command(state, shift_nominal_trajectory=False)``).

Every planner uses N samples x iterations, initial std 1 and starts from zero actions; CEM and iCEM refit to
K = 30 elites; iCEM runs with colored noise beta 2, momentum 0.1, 5 elites kept across iterations and a
constant population; MPPI weights all N samples, at the config temperature 0.5 and at 0.01 (this cost spans
about [0, 1], so 0.5 weights candidates almost evenly); ours refits its std to the weighted samples (TD-MPC2)
and, in a second row, keeps it fixed (``adapt_std=False``), as both peers' MPPI do. Where a planner plans
several episodes at once (ours and stable-worldmodel's), it is also run with B episodes in one call.

Timing: one ``plan`` / ``solve`` call (pytorch_mppi: ``iterations`` ``command`` calls), building the planner
included; each row is warmed up once, then the seeds run round-robin over the rows, so a burst of load from
other processes hits all rows alike; min and median over seeds. The cost callables are wrapped with a timer;
"bookkeeping" is the time of a plan minus the time spent inside them, divided by iterations: what the planner
itself spends per iteration (sampling, sorting, refitting, checks, logging).

"Returned plan" is the objective of what each planner returns (ours: the best sequence seen; the others:
their final mean); "best sampled" is the lowest objective among all candidates sampled (for the others found
in a second, untimed run with the same seed). pytorch_mppi also adds its own control-perturbation cost when it
weights samples; that is part of its algorithm.

Peers are optional: ``pip install -e '.[bench]'`` installs stable-worldmodel 0.1.1 and pytorch_mppi; rows of a
peer that is not installed are skipped with a note. Their adapters are in ``benchmarks/planner_peers.py``, the
objective and timing helpers in ``benchmarks/point_mass.py``.

Usage: ``.venv/bin/python benchmarks/planners.py [--repeats 10] [--batch 16] [--threads 1] [--out PATH]``
(or ``python -m benchmarks.planners``)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

if not __package__:  # run as `python benchmarks/planners.py`: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import Tensor

from benchmarks.planner_peers import PEERS, SWM, import_swm_solvers, installed, pytorch_mppi, swm
from benchmarks.point_mass import DT, HIGH, KEPT_ELITES, LOW, Contender, CostTimer, clipped_cost
from worldplan.planners import CEM, ICEM, MPPI

BUDGETS = [("DINO-WM", 300, 30, 5), ("CPU", 64, 5, 5)]  # (name, samples, iterations, horizon)


@dataclass(frozen=True)
class Stats:
    """One row's measurements: ms per plan, µs of bookkeeping per iteration, returned and best sampled costs."""

    fastest: float
    median: float
    cost_median: float
    bookkeeping: float
    bookkeeping_median: float
    mean_cost: float
    worst_cost: float
    best: float



# --- worldplan ---------------------------------------------------------------------------------------------


def ours(family: str, budget: tuple[int, int, int], batch: int, temperature: float | None,
         adapt_std: bool = True) -> Contender:
    """Our CEM, iCEM or MPPI (``adapt_std=False``: MPPI with a fixed std, as both peers); returns the best
    actions seen (B, H, 2)."""
    samples, iterations, horizon = budget
    elites = min(30, samples // 2)
    cls, extra = {
        "CEM": (CEM, dict(num_elites=elites)),
        "iCEM": (ICEM, dict(num_elites=elites, momentum=0.1, noise_beta=2.0, population_decay=1.0,
                            keep_elites_fraction=KEPT_ELITES / elites)),
        "MPPI": (MPPI, dict(temperature=temperature, adapt_std=adapt_std)),
    }[family]

    def plan(seed: int, timer: CostTimer) -> Tensor:
        planner = cls(horizon=horizon, action_low=LOW, action_high=HIGH, num_samples=samples,
                      iterations=iterations, seed=seed, **extra)
        return planner.plan(timer.wrap(clipped_cost), batch_size=batch).actions

    name = f"worldplan {cls.__name__}" + ("" if adapt_std else " (fixed std)")
    return Contender(name, family, temperature, batch, iterations, plan)


# --- measuring ---------------------------------------------------------------------------------------------


def contenders(budget: tuple[int, int, int], batch: int) -> list[Contender]:
    """Rows of one budget, grouped: each family (and MPPI temperature) at B = 1, then at B = ``batch``."""
    groups = [("CEM", None, 1), ("iCEM", None, 1), ("MPPI", 0.5, 1), ("MPPI", 0.01, 1),
              ("CEM", None, batch), ("iCEM", None, batch), ("MPPI", 0.5, batch)]
    rows = []
    for family, temperature, b in groups:
        rows.append(ours(family, budget, b, temperature))
        if family == "MPPI":  # the peers' MPPI keeps its sampling std fixed: the same algorithm, row by row
            rows.append(ours(family, budget, b, temperature, adapt_std=False))
        if installed(SWM):
            rows.append(swm(family, budget, b, temperature))
        if installed("pytorch_mppi") and family == "MPPI" and b == 1:
            rows.append(pytorch_mppi(budget, temperature))
    return rows


def measure(rows: list[Contender], repeats: int) -> list[Stats]:
    """Per row: time and bookkeeping (min, median over seeds) and the quality of what it returns.

    Each row is warmed up once, then the seeds run round-robin over the rows, so a burst of load from other
    processes on a shared machine hits all of them alike; the minimum is the least disturbed time.
    """
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # stable-worldmodel prints per solve
        return _measure(rows, repeats)


def _measure(rows: list[Contender], repeats: int) -> list[Stats]:
    """``measure``, with stdout already redirected."""
    for row in rows:
        row.plan(-1, CostTimer())
    times: list[list[float]] = [[] for _ in rows]  # ms per plan
    in_cost: list[list[float]] = [[] for _ in rows]  # ms per plan inside the cost callables
    costs: list[list[float]] = [[] for _ in rows]
    best: list[list[float]] = [[] for _ in rows]
    for seed in range(repeats):
        for i, row in enumerate(rows):
            timer = CostTimer()
            start = time.perf_counter()
            actions = row.plan(seed, timer)  # (B, H, 2)
            times[i].append(1000 * (time.perf_counter() - start))
            in_cost[i].append(1000 * timer.seconds)
            returned = clipped_cost(actions.unsqueeze(1)).flatten().tolist()
            costs[i].extend(returned)
            best[i].extend(row.best_sample(seed) if row.best_sample else returned)
    stats = []
    for row, t, c_in, c, b in zip(rows, times, in_cost, costs, best):
        bookkeeping = [1000 * (total - inside) / row.iterations for total, inside in zip(t, c_in)]  # µs
        stats.append(Stats(min(t), statistics.median(t), statistics.median(c_in), min(bookkeeping),
                           statistics.median(bookkeeping), statistics.fmean(c), max(c), statistics.fmean(b)))
    return stats


def table_row(budget_name: str, budget: tuple[int, int, int], row: Contender, s: Stats) -> str:
    """One markdown line."""
    samples, iterations, horizon = budget
    temperature = "-" if row.temperature is None else f"{row.temperature:g}"
    return (f"| {budget_name} | {samples} x {iterations}, H={horizon} | {row.name} | {temperature} | {row.batch} "
            f"| {s.fastest:.1f} | {s.median:.1f} | {s.fastest / row.batch:.2f} | {s.cost_median:.1f} "
            f"| {s.bookkeeping:.0f} | {s.bookkeeping_median:.0f} | {s.mean_cost:.1e} | {s.worst_cost:.1e} "
            f"| {s.best:.1e} |")


def comparisons(budget_name: str, rows: list[Contender], stats: list[Stats]) -> list[str]:
    """Per family, temperature and B: our bookkeeping per iteration (min) against the fastest peer's."""
    lines = []
    groups: dict[tuple, list[tuple[Contender, Stats]]] = {}
    for row, s in zip(rows, stats):
        groups.setdefault((row.family, row.temperature, row.batch), []).append((row, s))
    for (family, temperature, batch), members in groups.items():
        mine = [(row.name, s.bookkeeping) for row, s in members if row.name.startswith("worldplan")]
        peers = [(s.bookkeeping, row.name) for row, s in members if not row.name.startswith("worldplan")]
        if not peers:
            continue
        peer_us, peer = min(peers)
        at = "" if temperature is None else f" T={temperature:g}"
        for name, ours_us in mine:
            verdict = "at most" if ours_us <= peer_us else "ABOVE"
            lines.append(f"- {budget_name}, {family}{at}, B={batch}: {name} {ours_us:.0f} µs / iteration, fastest "
                         f"peer {peer} {peer_us:.0f} µs (ratio {ours_us / peer_us:.2f}, {verdict} the peer's)")
    return lines


def run(repeats: int, batch: int) -> tuple[list[str], list[str]]:
    """Rows of the results table and the bookkeeping comparison lines."""
    lines, summary = [], []
    for budget_name, *budget in BUDGETS:
        rows = contenders(tuple(budget), batch)
        stats = measure(rows, repeats)
        lines += [table_row(budget_name, tuple(budget), row, s) for row, s in zip(rows, stats)]
        summary += comparisons(budget_name, rows, stats)
    return lines, summary


def header(args: argparse.Namespace, missing: list[str]) -> list[str]:
    """Title, method, machine and the table head."""
    versions = [f"torch {torch.__version__}"]
    for peer, module in PEERS.items():
        if peer not in missing:
            versions.append(f"{peer} {version(module.replace('_', '-'))}")
    lines = [
        "# Planners: worldplan CEM / iCEM / MPPI vs stable-worldmodel and pytorch_mppi",
        "",
        f"Objective: 2-D point mass, dt {DT} s, |a| <= 1 (clamped in the cost), cost ||p_H - goal||^2 "
        f"(optimum 0). {args.repeats} seeds per row; time is the wall time of one `plan` / `solve` (pytorch_mppi: "
        "`iterations` `command` calls), building the planner included, min and median over seeds, round-robin; "
        "cost fn is the time inside the cost callables; bookkeeping = (plan time - cost fn time) / iterations, "
        "per seed, then min and median; costs over all seeds and episodes. See the docstring of "
        "`benchmarks/planners.py` for the settings.",
        f"Machine: {platform.machine()} CPU, {os.cpu_count()} cores, {', '.join(versions)}, torch threads: "
        f"{torch.get_num_threads()}. Command: `.venv/bin/python benchmarks/planners.py --repeats {args.repeats} "
        f"--batch {args.batch} --threads {args.threads}`.",
    ]
    if args.note:
        lines.append(f"Note: {args.note}")
    lines += [f"Not installed, rows skipped: {peer}." for peer in missing]
    return lines + [
        "",
        "| budget | samples x iterations | planner | temperature | B | ms / plan (min) | ms / plan (median) "
        "| ms / episode (min) | cost fn: ms / plan (median) | bookkeeping: µs / iteration (min) | bookkeeping: "
        "µs / iteration (median) | returned plan: mean cost | worst cost | best sampled: mean cost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="seeds per row (timing: min and median)")
    parser.add_argument("--batch", type=int, default=16, help="episodes planned at once in the batched rows")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared machine)")
    parser.add_argument("--note", default="", help="a line for the header, e.g. what else ran on the machine")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "planners.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    missing = [peer for peer in PEERS if not installed(peer)]
    for peer in missing:
        print(f"note: {peer} is not installed; its rows are skipped (pip install -e '.[bench]')")
    if SWM not in missing:
        import_swm_solvers()  # once, before timing: the package takes seconds to import
    lines, summary = run(args.repeats, args.batch)
    if summary:
        summary = ["", "Bookkeeping per iteration (min over seeds), worldplan against the fastest peer of the same "
                   "family, temperature and B:", ""] + summary
    text = "\n".join(header(args, missing) + lines + summary) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, args.out)


if __name__ == "__main__":
    main()
