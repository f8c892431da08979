"""Build a planner by name, e.g. from the ``planner`` config group."""

from __future__ import annotations

from typing import Any

from worldplan.planners.cem import CEM
from worldplan.planners.gaussian import GaussianPlanner
from worldplan.planners.mppi import MPPI

PLANNERS: dict[str, type[GaussianPlanner]] = {"cem": CEM, "mppi": MPPI}


def build_planner(name: str, **kwargs: Any) -> GaussianPlanner:
    """Construct the planner called ``name`` ("cem" or "mppi") with keyword arguments.

    Runtime values (``action_low``, ``action_high``, ``device``, ``seed``) are passed here by the caller,
    next to the config's hyper-parameters: ``build_planner(**cfg.planner, action_low=..., action_high=...)``.
    """
    if name not in PLANNERS:
        raise ValueError(f"unknown planner {name!r}; choose one of {sorted(PLANNERS)}")
    try:
        return PLANNERS[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for planner {name!r}: {err}") from err
