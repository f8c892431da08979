"""What CEM and MPPI must do on analytic costs: find optima, respect bounds, be reproducible.

Every test runs for both planners (the ``make_planner`` fixture is parametrized over CEM and MPPI).
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import rastrigin
from torch import Tensor

H, A = 3, 2  # the fixture's horizon and action size


def test_quadratic_optimum_inside_bounds_is_found(make_planner, quadratic) -> None:
    target = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])  # (H, A)
    result = make_planner().plan(quadratic(target), batch_size=1)
    assert torch.allclose(result.actions[0], target, atol=0.05)


def test_best_cost_trace_never_increases_on_rastrigin(make_planner) -> None:
    trace = make_planner(num_samples=16, seed=3).plan(rastrigin, batch_size=4).cost_trace  # (B, iters)
    assert torch.all(trace[:, 1:] <= trace[:, :-1])
    assert torch.all(trace[:, -1] < trace[:, 0])


def test_optimum_outside_bounds_gives_solution_on_the_bound(make_planner, quadratic) -> None:
    target = torch.tensor([3.0, -2.0]).expand(H, A)  # beyond high in dim 0, below low in dim 1
    actions = make_planner(iterations=30).plan(quadratic(target), batch_size=2).actions  # (B, H, A)
    assert actions.min() >= -1.0 and actions.max() <= 1.0
    assert torch.allclose(actions[..., 0], torch.ones(2, H), atol=0.02)
    assert torch.allclose(actions[..., 1], -torch.ones(2, H), atol=0.02)


def test_std_floor_keeps_candidates_spread_when_elites_collapse(make_planner, quadratic) -> None:
    spreads: list[float] = []
    cost = quadratic(torch.zeros(H, A))

    def recording_cost(actions: Tensor) -> Tensor:  # (B, N, H, A)
        spreads.append(actions[:, 1:].std(dim=1).min().item())
        return cost(actions)

    make_planner(num_elites=1, min_std=0.1).plan(recording_cost, batch_size=1)
    assert min(spreads) > 0.05  # a single elite has std 0; the floor (0.1) keeps sampling around it


def test_same_seed_gives_identical_actions(make_planner, quadratic) -> None:
    cost = quadratic(torch.full((H, A), 0.25))
    first = make_planner(seed=7).plan(cost, batch_size=2)
    second = make_planner(seed=7).plan(cost, batch_size=2)
    assert torch.equal(first.actions, second.actions)
    assert torch.equal(first.cost_trace, second.cost_trace)


def test_different_seed_gives_different_actions(make_planner, quadratic) -> None:
    cost = quadratic(torch.full((H, A), 0.25))
    first = make_planner(seed=7).plan(cost, batch_size=2)
    second = make_planner(seed=8).plan(cost, batch_size=2)
    assert not torch.equal(first.actions, second.actions)


def test_warm_start_at_the_optimum_is_returned_unchanged(make_planner, quadratic) -> None:
    target = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])  # (H, A)
    warm = target.expand(2, H, A).clone()
    result = make_planner().plan(quadratic(target), batch_size=2, warm_start=warm)
    assert torch.equal(result.actions, warm)
    assert torch.all(result.cost_trace == 0)


def test_evaluations_equal_samples_times_iterations_in_one_call_per_iteration(make_planner, quadratic) -> None:
    planner = make_planner(num_samples=20, iterations=5)
    shapes: list[tuple[int, ...]] = []
    cost = quadratic(torch.zeros(H, A))

    def counting_cost(actions: Tensor) -> Tensor:
        shapes.append(tuple(actions.shape))
        return cost(actions)

    result = planner.plan(counting_cost, batch_size=3)
    assert result.evaluations == 20 * 5
    assert shapes == [(3, 20, H, A)] * 5
    assert result.cost_trace.shape == (3, 5)


def test_cpu_planner_returns_cpu_tensors(make_planner, quadratic) -> None:
    result = make_planner(device="cpu").plan(quadratic(torch.zeros(H, A)), batch_size=1)
    assert result.actions.device.type == "cpu" and result.cost_trace.device.type == "cpu"
    assert result.actions.dtype == torch.float32


@pytest.mark.gpu
def test_cuda_planner_samples_and_returns_on_cuda(make_planner, quadratic) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    target = torch.full((H, A), 0.25, device="cuda")
    result = make_planner(device="cuda").plan(quadratic(target), batch_size=2)
    assert result.actions.device.type == "cuda"
    assert torch.allclose(result.actions.cpu(), target.cpu().expand(2, H, A), atol=0.05)
