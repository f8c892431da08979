"""Sampling-based planners over batched action sequences (torch only)."""

from worldplan.planners.base import CostFn, Planner, PlanResult
from worldplan.planners.cem import CEM
from worldplan.planners.factory import PLANNERS, build_planner
from worldplan.planners.mppi import MPPI
from worldplan.planners.sampling import NonFiniteCostError, shift_plan

__all__ = [
    "CEM",
    "MPPI",
    "PLANNERS",
    "CostFn",
    "NonFiniteCostError",
    "PlanResult",
    "Planner",
    "build_planner",
    "shift_plan",
]
