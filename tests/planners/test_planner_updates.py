"""The refit rules of CEM and MPPI on hand-made candidates, checked against their formulas."""

from __future__ import annotations

import torch

from worldplan.planners import CEM, MPPI
from worldplan.planners.sampling import mean_std

# One episode, four candidates of one step and one action dimension: values 0, 1, 2, 3; costs 3, 0, 1, 2.
CANDIDATES = torch.tensor([0.0, 1.0, 2.0, 3.0]).view(1, 4, 1, 1)  # (B, N, H, A)
COSTS = torch.tensor([[3.0, 0.0, 1.0, 2.0]])  # (B, N)
MEAN, STD = torch.full((1, 1, 1), 10.0), torch.full((1, 1, 1), 4.0)  # (B, H, A)
BOUNDS = dict(horizon=1, action_low=[-5.0], action_high=[5.0], num_samples=4)


def test_cem_refits_to_mean_and_population_std_of_the_elites() -> None:
    mean, std = CEM(num_elites=2, **BOUNDS)._refit(CANDIDATES, COSTS, MEAN, STD)  # elites: 1 and 2
    assert torch.allclose(mean, torch.tensor(1.5)) and torch.allclose(std, torch.tensor(0.5))


def test_mean_std_gives_the_population_statistics_whatever_the_batch_size() -> None:
    samples = torch.randn(3, 7, 2, 2, generator=torch.Generator().manual_seed(0))  # (B, K, H, A)
    for batch in (samples[:1], samples):  # B = 1 takes the fused form, B > 1 the elementwise one
        mean, std = mean_std(batch)
        assert mean.shape == std.shape == (batch.shape[0], 2, 2)
        assert torch.allclose(mean, batch.mean(dim=1), atol=1e-6)
        assert torch.allclose(std, (batch - batch.mean(dim=1, keepdim=True)).pow(2).mean(dim=1).sqrt(), atol=1e-6)


def test_cem_momentum_blends_old_and_elite_statistics() -> None:
    mean, std = CEM(num_elites=2, momentum=0.25, **BOUNDS)._refit(CANDIDATES, COSTS, MEAN, STD)
    assert torch.allclose(mean, torch.tensor(0.25 * 10 + 0.75 * 1.5))
    assert torch.allclose(std, torch.tensor(0.25 * 4 + 0.75 * 0.5))


def test_mppi_weights_are_softmax_of_negative_cost_over_temperature() -> None:
    mean, std = MPPI(temperature=2.0, **BOUNDS)._refit(CANDIDATES, COSTS, MEAN, STD)
    weights = torch.softmax(-COSTS[0] / 2.0, dim=0)
    expected_mean = (weights * CANDIDATES.flatten()).sum()
    expected_std = (weights * (CANDIDATES.flatten() - expected_mean) ** 2).sum().sqrt()
    assert torch.allclose(mean, expected_mean) and torch.allclose(std, expected_std)


def test_mppi_without_adapt_std_moves_the_mean_and_keeps_the_std() -> None:
    mean, std = MPPI(temperature=2.0, adapt_std=False, **BOUNDS)._refit(CANDIDATES, COSTS, MEAN, STD)
    weights = torch.softmax(-COSTS[0] / 2.0, dim=0)
    assert torch.allclose(mean, (weights * CANDIDATES.flatten()).sum()) and torch.equal(std, STD)


def test_mppi_with_elites_ignores_the_other_candidates() -> None:
    mean, _ = MPPI(temperature=1e6, num_elites=2, **BOUNDS)._refit(CANDIDATES, COSTS, MEAN, STD)
    assert torch.allclose(mean, torch.tensor(1.5), atol=1e-4)  # a huge temperature: uniform over 1 and 2


def test_mppi_gives_infinite_costs_zero_weight() -> None:
    costs = torch.tensor([[float("inf"), 0.0, float("inf"), float("inf")]])
    mean, std = MPPI(temperature=1e6, **BOUNDS)._refit(CANDIDATES, costs, MEAN, STD)
    assert torch.equal(mean, torch.ones(1, 1, 1)) and torch.equal(std, torch.zeros(1, 1, 1))


def test_std_limits_are_fractions_of_half_the_action_range() -> None:
    planner = MPPI(horizon=2, action_low=[-2.0], action_high=[2.0], init_std=0.3, min_std=0.1, max_std=0.5)
    assert torch.allclose(planner.init_std, torch.tensor([0.6]))
    assert torch.allclose(planner.min_std, torch.tensor([0.2]))
    assert torch.allclose(planner.max_std, torch.tensor([1.0]))


def test_a_relative_temperature_is_in_units_of_the_elite_cost_range() -> None:
    planner = MPPI(temperature=2.0, relative_temperature=True, **BOUNDS)
    scaled = [planner._refit(CANDIDATES, COSTS * scale, MEAN, STD) for scale in (1e-4, 1.0, 1e3)]
    weights = torch.softmax(-(COSTS[0] - COSTS[0].min()) / (COSTS[0].max() - COSTS[0].min()) / 2.0, dim=0)
    assert torch.allclose(scaled[1][0], (weights * CANDIDATES.flatten()).sum())
    for mean, std in scaled:
        assert torch.allclose(mean, scaled[1][0]) and torch.allclose(std, scaled[1][1])


def test_a_relative_temperature_ignores_infinite_costs_and_equal_costs() -> None:
    planner = MPPI(temperature=1.0, relative_temperature=True, **BOUNDS)
    mean, _ = planner._refit(CANDIDATES, torch.tensor([[float("inf"), 0.0, 1.0, float("inf")]]), MEAN, STD)
    assert torch.isfinite(mean).all()
    mean, _ = planner._refit(CANDIDATES, torch.full((1, 4), 3.0), MEAN, STD)
    assert torch.allclose(mean, CANDIDATES.mean())
