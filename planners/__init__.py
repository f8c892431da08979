"""Planners over batched action sequences: sampling (CEM, MPPI, iCEM), gradient, hybrid, random (torch only)."""

from worldplan.planners.base import CostFn, Planner, PlanResult
from worldplan.planners.cem import CEM
from worldplan.planners.factory import PLANNERS, build_planner
from worldplan.planners.gradient import GradientPlanner
from worldplan.planners.hybrid import HybridPlanner
from worldplan.planners.icem import ICEM
from worldplan.planners.mppi import MPPI
from worldplan.planners.random_actions import RandomPlanner
from worldplan.planners.sampling import NonFiniteCostError, NonFiniteGradientError, shift_plan

__all__ = [
    "CEM",
    "ICEM",
    "MPPI",
    "PLANNERS",
    "CostFn",
    "GradientPlanner",
    "HybridPlanner",
    "NonFiniteCostError",
    "NonFiniteGradientError",
    "PlanResult",
    "Planner",
    "RandomPlanner",
    "build_planner",
    "shift_plan",
]
