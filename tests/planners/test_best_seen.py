"""``BestSeen`` with keep = 1: the lowest cost over all iterations, ties to the earliest, the cost trace, and
the check of non-finite (+inf) costs."""

from __future__ import annotations

import pytest
import torch

from worldplan.planners.best_seen import BestSeen
from worldplan.planners.sampling import NonFiniteCostError


def _candidates(values: list[list[float]]) -> torch.Tensor:
    """(B, N) values -> (B, N, H=1, A=1) candidates equal to their value, so the winner names itself."""
    return torch.tensor(values).view(len(values), -1, 1, 1)


def test_best_over_iterations_of_different_sizes_with_its_trace() -> None:
    seen = BestSeen(keep=1)
    seen.add(_candidates([[10.0, 11.0, 12.0], [20.0, 21.0, 22.0]]), torch.tensor([[5.0, 3.0, 4.0], [1.0, 9.0, 9.0]]))
    seen.add(_candidates([[13.0, 14.0], [23.0, 24.0]]), torch.tensor([[2.0, 6.0], [7.0, 8.0]]))
    best, costs, trace = seen.result()
    assert best.flatten().tolist() == [13.0, 20.0]
    assert costs.tolist() == [[2.0], [1.0]]
    assert trace.tolist() == [[3.0, 2.0], [1.0, 1.0]]


def test_ties_go_to_the_earliest_iteration_then_the_first_candidate() -> None:
    seen = BestSeen(keep=1)
    seen.add(_candidates([[10.0, 11.0]]), torch.tensor([[4.0, 1.0]]))
    seen.add(_candidates([[12.0, 13.0]]), torch.tensor([[1.0, 1.0]]))
    assert seen.result()[0].item() == 11.0
    tied = BestSeen(keep=1)
    tied.add(_candidates([[10.0, 11.0]]), torch.tensor([[1.0, 1.0]]))
    assert tied.result()[0].item() == 10.0


def test_an_episode_with_only_infinite_costs_is_named_in_the_error() -> None:
    seen = BestSeen(keep=1)
    seen.add(_candidates([[10.0, 11.0], [20.0, 21.0]]), torch.tensor([[float("inf"), 1.0], [float("inf")] * 2]))
    with pytest.raises(NonFiniteCostError, match=r"episodes \[1\] \(all 2 candidates"):
        seen.result()


def test_infinite_costs_are_never_the_best_and_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    seen = BestSeen(keep=1)
    seen.add(_candidates([[10.0, 11.0]]), torch.tensor([[float("inf"), 3.0]]))
    seen.add(_candidates([[12.0, 13.0]]), torch.tensor([[float("inf"), float("inf")]]))
    with caplog.at_level("WARNING"):
        best, costs, trace = seen.result()
    assert best.item() == 11.0 and costs.item() == 3.0 and trace.tolist() == [[3.0, 3.0]]
    assert "3 non-finite costs out of 4" in caplog.text


@pytest.mark.parametrize("batch, iterations", [(12, 2), (3, 6), (1, 4)])
def test_the_best_of_many_episodes_matches_a_search_one_by_one(batch: int, iterations: int) -> None:
    """Few distinct best iterations (B = 12 over 2: looked up per iteration) and many (B = 3 over 6: per
    episode) give what a plain loop finds, ties included (costs are small integers)."""
    generator = torch.Generator().manual_seed(0)
    costs = [torch.randint(0, 4, (batch, 5), generator=generator).float() for _ in range(iterations)]
    sequences = [torch.randn(batch, 5, 2, 3, generator=generator) for _ in range(iterations)]
    seen = BestSeen(keep=1)
    for candidates, cost in zip(sequences, costs):
        seen.add(candidates, cost)
    expected = []
    for b in range(batch):
        flat = [(cost[b, n].item(), i, n) for i, cost in enumerate(costs) for n in range(5)]
        _, i, n = min(flat)  # lowest cost, then earliest iteration, then first candidate
        expected.append(sequences[i][b, n])
    assert torch.equal(seen.result()[0][:, 0], torch.stack(expected))
