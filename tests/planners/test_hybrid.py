"""The hybrid planner: a sampling search, then gradient steps on the best sequences it saw.

Axis legend: B episodes, N candidates, R refined sequences, H horizon (model steps), A action size.
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import HIGH, HORIZON, LOW, far_rastrigin, quadratic_cost
from torch import Tensor

from worldplan.planners import CEM, ICEM, HybridPlanner

H, A = HORIZON, 2
SAMPLER = dict(name="cem", num_samples=32, num_elites=4, iterations=3)


def make_hybrid(**overrides: object) -> HybridPlanner:
    kwargs = dict(horizon=H, action_low=LOW, action_high=HIGH, sampler=SAMPLER, refine=3, steps=10, seed=0)
    kwargs.update(overrides)
    return HybridPlanner(**kwargs)


def test_hybrid_is_never_worse_than_its_sampler_alone_and_extends_its_trace() -> None:
    settings = {key: value for key, value in SAMPLER.items() if key != "name"}
    sampled = CEM(horizon=H, action_low=LOW, action_high=HIGH, seed=0, **settings).plan(far_rastrigin, batch_size=4)
    hybrid = make_hybrid().plan(far_rastrigin, batch_size=4)
    assert torch.equal(hybrid.cost_trace[:, :3], sampled.cost_trace)  # same seed: the same sampling stage
    assert hybrid.cost_trace.shape == (4, 3 + 10 + 1)
    assert torch.all(hybrid.cost_trace[:, -1] <= sampled.cost_trace[:, -1])
    assert torch.all(hybrid.cost_trace[:, -1] < sampled.cost_trace[:, -1] - 1e-3)  # the descent helps here
    assert torch.allclose(far_rastrigin(hybrid.actions.unsqueeze(1))[:, 0], hybrid.cost_trace[:, -1])


def test_the_refined_sequences_are_the_best_the_sampler_saw() -> None:
    calls: list[tuple[Tensor, Tensor]] = []

    def recording(actions: Tensor) -> Tensor:
        costs = far_rastrigin(actions)
        calls.append((actions.detach().clone(), costs.detach().clone()))
        return costs

    make_hybrid().plan(recording, batch_size=2)
    seen = torch.cat([actions for actions, _ in calls[:3]], dim=1)  # (B, 3 x 32, H, A): the sampler's calls
    seen_costs = torch.cat([costs for _, costs in calls[:3]], dim=1)
    index = seen_costs.argsort(dim=1, stable=True)[:, :3]  # (B, R)
    expected = torch.gather(seen, 1, index[:, :, None, None].expand(-1, -1, H, A))
    assert calls[3][0].shape == (2, 3, H, A) and torch.equal(calls[3][0], expected)


def test_an_icem_sampler_is_built_from_its_settings() -> None:
    sampler = dict(name="icem", num_samples=32, num_elites=4, iterations=3, noise_beta=1.0)
    planner = make_hybrid(sampler=sampler, steps=50)
    assert isinstance(planner.sampler, ICEM) and planner.sampler.noise_beta == 1.0
    target = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])
    result = planner.plan(quadratic_cost(target), batch_size=2)
    assert torch.allclose(result.actions, target.expand(2, H, A), atol=0.05)
    assert result.evaluations == planner.evaluations_per_plan == (32 + 25 + 20 + 1) + (2 * 50 + 1) * 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sampler=dict(name="mppi")), "sampler name must be one of"),
        (dict(refine=33), r"refine must be in \[1, sampler num_samples=32\]"),
        (dict(refine=0), r"refine must be in \[1, sampler num_samples=32\]"),
        (dict(lr=0.0), "lr must be > 0"),
        (dict(sampler=dict(SAMPLER, noise_beta=5.0)), "noise_beta"),  # CEM has no noise_beta
    ],
)
def test_bad_hybrid_settings_raise(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make_hybrid(**kwargs)


def test_a_cost_without_gradients_is_refused_after_sampling() -> None:
    def no_grad_cost(actions: Tensor) -> Tensor:
        return far_rastrigin(actions.detach())

    with pytest.raises(ValueError, match="not differentiable"):
        make_hybrid().plan(no_grad_cost, batch_size=1)
