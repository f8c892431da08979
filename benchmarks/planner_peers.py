"""The optional peers of ``benchmarks/planners.py``: stable-worldmodel's solvers and pytorch_mppi's MPPI.

Each adapter runs the peer on the point-mass objective of ``benchmarks/point_mass.py`` and returns a
``Contender`` (one table row). ``installed`` says whether a peer can be imported; ``pip install -e '.[bench]'``
installs both.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from types import SimpleNamespace
from typing import Callable

import torch
from gymnasium.spaces import Box
from torch import Tensor

from benchmarks.point_mass import GOAL, HIGH, KEPT_ELITES, LOW, Contender, CostTimer, clipped_cost, step

SWM = "stable-worldmodel"
PEERS = {SWM: "stable_worldmodel", "pytorch_mppi": "pytorch_mppi"}  # name -> module


def installed(peer: str) -> bool:
    """Whether the peer's module can be imported."""
    return importlib.util.find_spec(PEERS[peer]) is not None


# --- stable-worldmodel -------------------------------------------------------------------------------------


@functools.cache
def import_swm_solvers() -> SimpleNamespace:
    """stable_worldmodel.solver, imported once and quietly (the package imports its envs, warns about missing
    ones and takes seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stable_worldmodel import solver
    return solver


def swm_solve(family: str, budget: tuple[int, int, int], batch: int, temperature: float | None, seed: int,
              cost_fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Build, configure and run one stable-worldmodel solver; returns its final mean (B, H, 2)."""
    solver = import_swm_solvers()
    samples, iterations, horizon = budget
    elites = min(30, samples // 2)
    common = dict(batch_size=batch, num_samples=samples, var_scale=1.0, n_steps=iterations, seed=seed)
    model = SimpleNamespace(get_cost=lambda info, candidates: cost_fn(candidates))  # a Costable
    if family == "CEM":
        planner = solver.CEMSolver(model, topk=elites, **common)
    elif family == "iCEM":
        planner = solver.ICEMSolver(model, topk=elites, noise_beta=2.0, alpha=0.1, n_elite_keep=KEPT_ELITES, **common)
    else:
        planner = solver.MPPISolver(model, topk=None, temperature=temperature, **common)
    # The action space is batched: (B, A); the config needs only horizon and action_block.
    planner.configure(action_space=Box(LOW[0], HIGH[0], shape=(batch, 2)), n_envs=batch,
                      config=SimpleNamespace(horizon=horizon, action_block=1))
    info = {"goal": GOAL.expand(batch, 2)}  # solve reads B from the first entry; the cost ignores it
    return planner.solve(info)["actions"]  # solve prints its time: measure sends stdout to os.devnull


def swm(family: str, budget: tuple[int, int, int], batch: int, temperature: float | None) -> Contender:
    """stable-worldmodel's CEMSolver, ICEMSolver or MPPISolver on the same objective."""

    def plan(seed: int, timer: CostTimer) -> Tensor:
        return swm_solve(family, budget, batch, temperature, seed, timer.wrap(clipped_cost))

    def best_sample(seed: int) -> list[float]:
        lowest = torch.full((batch,), float("inf"))

        def probed(actions: Tensor) -> Tensor:
            nonlocal lowest
            costs = clipped_cost(actions)
            lowest = torch.minimum(lowest, costs.min(dim=1).values)
            return costs

        swm_solve(family, budget, batch, temperature, seed, probed)
        return lowest.tolist()

    name = {"CEM": "CEMSolver", "iCEM": "ICEMSolver", "MPPI": "MPPISolver"}[family]
    return Contender(f"{SWM} {name} (returns mean)", family, temperature, batch, budget[1], plan, best_sample)


# --- pytorch_mppi ------------------------------------------------------------------------------------------


def plan_pytorch_mppi(budget: tuple[int, int, int], seed: int, temperature: float, timer: CostTimer,
                      probe: list[float] | None = None) -> Tensor:
    """Plan with pytorch_mppi.MPPI on the same objective; returns its nominal actions U (1, H, 2).

    Its dynamics, running cost and terminal cost are wrapped by ``timer``. With ``probe``, the lowest objective
    over every sampled sequence is appended to it (extra cost calls).
    """
    from pytorch_mppi import MPPI as ReferenceMPPI

    samples, iterations, horizon = budget
    torch.manual_seed(seed)  # pytorch_mppi samples from the global generator
    reference = ReferenceMPPI(
        timer.wrap(step), timer.wrap(lambda state, u: torch.zeros(state.shape[0])), nx=4,
        noise_sigma=torch.eye(2), num_samples=samples, horizon=horizon, lambda_=temperature,
        u_min=torch.tensor(LOW), u_max=torch.tensor(HIGH), U_init=torch.zeros(horizon, 2),
        terminal_state_cost=timer.wrap(lambda states, actions: ((states[..., -1, :2] - GOAL) ** 2).sum(dim=-1)),
    )
    best = float("inf")
    for _ in range(iterations):
        reference.command(torch.zeros(4), shift_nominal_trajectory=False)
        if probe is not None:
            best = min(best, clipped_cost(reference.perturbed_action.unsqueeze(0)).min().item())
    if probe is not None:
        probe.append(best)
    return reference.U.unsqueeze(0)


def pytorch_mppi(budget: tuple[int, int, int], temperature: float) -> Contender:
    """pytorch_mppi's MPPI (one episode per call)."""

    def best_sample(seed: int) -> list[float]:
        probe: list[float] = []
        plan_pytorch_mppi(budget, seed, temperature, CostTimer(), probe)
        return probe

    return Contender("pytorch_mppi MPPI (returns U)", "MPPI", temperature, 1, budget[1],
                     lambda s, timer: plan_pytorch_mppi(budget, s, temperature, timer), best_sample)
