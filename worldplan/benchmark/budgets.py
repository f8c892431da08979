"""Planner budgets: one number, sequence evaluations per plan, turned into each planner's own knobs.

The unit is ``PlanResult.evaluations``: a sampled sequence scored once counts 1, a gradient step
through R restarts counts 2R (forward and backward). The plan records what was actually spent.
"""

from __future__ import annotations

ITERATIONS = 5  # sampling iterations per plan for cem, mppi and icem at every budget
RESTARTS = 8  # gradient descents per episode for gd
SAMPLER_ITERATIONS, REFINE = 3, 4  # cem_gd: its sampling stage, and the sequences it refines
ICEM_DECAY = 1.25


def _icem_samples(budget: int) -> int:
    """First-iteration samples N whose shrinking population (N / 1.25^i, at least 16) sums to ``budget``."""
    per_unit = sum(ICEM_DECAY**-i for i in range(ITERATIONS))
    return max(16, round(budget / per_unit))


def budget_overrides(planner: str, budget: int) -> tuple[str, ...]:
    """Overrides giving ``planner`` about ``budget`` sequence evaluations per plan.

    cem / mppi: N = budget / 5 samples x 5 iterations; icem: a first population that shrinks to the
    same total; gd: 8 restarts x budget / 16 steps (forward and backward count 2 per restart); cem_gd:
    half the budget to 3 CEM iterations, half to gradient steps on the 4 best sequences.
    """
    if budget < 2 * ITERATIONS * RESTARTS:
        smallest = 2 * ITERATIONS * RESTARTS
        raise ValueError(f"planner budget {budget} is below the smallest the sweep splits ({smallest})")
    if planner in ("cem", "mppi"):
        samples = budget // ITERATIONS
        return (f"planner.num_samples={samples}", f"planner.iterations={ITERATIONS}",
                f"planner.num_elites={max(2, samples // 8)}")
    if planner == "icem":
        samples = _icem_samples(budget)
        return (f"planner.num_samples={samples}", f"planner.iterations={ITERATIONS}",
                f"planner.num_elites={max(2, samples // 12)}", f"planner.population_decay={ICEM_DECAY}")
    if planner == "gd":
        return (f"planner.restarts={RESTARTS}", f"planner.steps={max(1, budget // (2 * RESTARTS))}")
    if planner == "cem_gd":
        samples = budget // 2 // SAMPLER_ITERATIONS
        return (f"planner.sampler.num_samples={samples}", f"planner.sampler.iterations={SAMPLER_ITERATIONS}",
                f"planner.sampler.num_elites={max(2, samples // 8)}", f"planner.refine={REFINE}",
                f"planner.steps={max(1, budget // 2 // (2 * REFINE))}")
    raise ValueError(f"the planner sweep knows no budget rule for planner {planner!r}: use cem, mppi, icem, gd, cem_gd")
