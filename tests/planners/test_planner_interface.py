"""Rules every planner of ``build_planner`` keeps: bounds, seeds, independent episodes, counted evaluations.

Each test runs for every planner name (CEM, MPPI, iCEM, gd, cem_gd, random) at the budgets of
``planner_cases.ALL_SETTINGS``; the search tests skip the random baseline, which searches nothing.
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import ALL_SETTINGS, HORIZON, SEARCHING, far_rastrigin, planner_factory, quadratic_cost, rastrigin
from torch import Tensor

H, A = HORIZON, 2
TARGET = torch.tensor([[0.3, -0.5], [-0.2, 0.7], [0.6, 0.1]])  # (H, A), inside the bounds


@pytest.mark.parametrize("name", sorted(ALL_SETTINGS))
def test_planner_has_what_the_mpc_loop_and_the_record_read(name) -> None:
    planner = planner_factory(name)()
    assert planner.horizon == H
    assert torch.equal(planner.action_low, torch.tensor([-1.0, -1.0]))
    assert torch.equal(planner.action_high, torch.tensor([1.0, 1.0]))
    assert isinstance(planner.num_samples, int) and isinstance(planner.iterations, int)
    assert isinstance(planner.evaluations_per_plan, int)


@pytest.mark.parametrize("name", sorted(ALL_SETTINGS))
def test_evaluations_count_candidates_per_call_and_double_for_gradient_calls(name) -> None:
    counted: list[int] = []
    cost = quadratic_cost(TARGET)

    def counting_cost(actions: Tensor) -> Tensor:  # (B, N, H, A): N, or 2N when back-propagated
        counted.append(actions.shape[1] * (2 if actions.requires_grad else 1))
        assert actions.shape[0] == 3 and actions.shape[2:] == (H, A)
        return cost(actions)

    planner = planner_factory(name)()
    result = planner.plan(counting_cost, batch_size=3)
    assert result.evaluations == sum(counted) == planner.evaluations_per_plan
    assert result.cost_trace.shape[0] == 3


@pytest.mark.parametrize("name", sorted(ALL_SETTINGS))
def test_optimum_outside_the_bounds_gives_actions_inside_them(name) -> None:
    cost = quadratic_cost(torch.tensor([3.0, -2.0]).expand(H, A))  # beyond high in dim 0, below low in dim 1
    actions = planner_factory(name)().plan(cost, batch_size=2).actions  # (B, H, A)
    assert actions.shape == (2, H, A) and actions.dtype == torch.float32
    assert actions.min() >= -1.0 and actions.max() <= 1.0
    if name != "random":
        assert torch.allclose(actions, torch.tensor([1.0, -1.0]).expand(2, H, A), atol=0.05)


@pytest.mark.parametrize("name", sorted(ALL_SETTINGS))
def test_same_seed_gives_identical_plans_and_another_seed_different_ones(name) -> None:
    def plan(seed: int):  # far from the midpoint start, so gd's random restarts matter
        return planner_factory(name)(seed=seed).plan(far_rastrigin, batch_size=2)

    first, second, other = plan(7), plan(7), plan(8)
    assert torch.equal(first.actions, second.actions) and torch.equal(first.cost_trace, second.cost_trace)
    assert not torch.equal(first.actions, other.actions)


@pytest.mark.parametrize("name", SEARCHING)
def test_quadratic_optimum_inside_the_bounds_is_found(name) -> None:
    result = planner_factory(name)().plan(quadratic_cost(TARGET), batch_size=1)
    assert torch.allclose(result.actions[0], TARGET, atol=0.05)


@pytest.mark.parametrize("name", SEARCHING)
def test_batch_rows_find_their_own_optima(name) -> None:
    targets = torch.stack([TARGET, -TARGET, TARGET.flip(-1)])  # (B, H, A): distinct, none at the start mean 0
    result = planner_factory(name)().plan(quadratic_cost(targets[:, None]), batch_size=3)
    distance = (result.actions[:, None] - targets[None]).abs().amax(dim=(-2, -1))  # (B, B): row b to target c
    assert torch.equal(distance.argmin(dim=1), torch.arange(3)), distance
    assert torch.all(distance.diagonal() < 0.05), distance


@pytest.mark.parametrize("name", SEARCHING)
def test_best_cost_trace_never_increases_on_rastrigin(name) -> None:
    trace = planner_factory(name)(seed=3).plan(rastrigin, batch_size=4).cost_trace  # (B, iterations)
    assert trace.shape[1] >= 2
    assert torch.all(trace[:, 1:] <= trace[:, :-1])
    assert torch.all(trace[:, -1] < trace[:, 0])


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(ALL_SETTINGS))
def test_cuda_planner_plans_and_returns_on_cuda(name) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    result = planner_factory(name)(device="cuda").plan(quadratic_cost(TARGET.cuda()), batch_size=2)
    assert result.actions.device.type == "cuda" and result.cost_trace.device.type == "cuda"
    if name != "random":
        assert torch.allclose(result.actions.cpu(), TARGET.expand(2, H, A), atol=0.05)
