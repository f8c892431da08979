"""Sampling-based planners over batched action sequences (torch only)."""

from worldplan.planners.base import CostFn, Planner, PlanResult

__all__ = ["CostFn", "Planner", "PlanResult"]
