"""Build a planner by name, e.g. from the ``planner`` config group (configs/planner/<name>.yaml)."""

from __future__ import annotations

from typing import Any, Callable

from worldplan.planners.base import Planner
from worldplan.planners.cem import CEM
from worldplan.planners.gradient import GradientPlanner
from worldplan.planners.hybrid import HybridPlanner
from worldplan.planners.icem import ICEM
from worldplan.planners.mppi import MPPI
from worldplan.planners.random_actions import RandomPlanner

PLANNERS: dict[str, Callable[..., Planner]] = {
    "cem": CEM,
    "mppi": MPPI,
    "icem": ICEM,
    "gd": GradientPlanner,
    "cem_gd": HybridPlanner,
    "random": RandomPlanner,
}


def build_planner(name: str, **kwargs: Any) -> Planner:
    """Construct the planner called ``name`` (a key of ``PLANNERS``) with keyword arguments.

    Runtime values (``action_low``, ``action_high``, ``device``, ``seed``) are passed here by the caller,
    next to the config's hyper-parameters: ``build_planner(**cfg.planner, action_low=..., action_high=...)``.
    """
    if name not in PLANNERS:
        raise ValueError(f"unknown planner {name!r}; choose one of {sorted(PLANNERS)}")
    try:
        return PLANNERS[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for planner {name!r}: {err}") from err
