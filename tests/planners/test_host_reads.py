"""Planner loops never read a tensor's value on the host: on a GPU each read would wait for the device.

A spy counts every host read of a tensor (``bool``, ``item``, ``tolist``, ``int``, ``float``, ``nonzero``)
during a plan; the count must not grow with the number of iterations (the checks run once, after the loop).
"""

from __future__ import annotations

import pytest
import torch
from planner_cases import planner_factory, quadratic_cost

from worldplan.costs import make_cost_fn

READS = ("__bool__", "item", "tolist", "__int__", "__float__", "nonzero")


@pytest.fixture
def count_host_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that records the name of every host read of a tensor while the test runs."""
    reads: list[str] = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    return reads


class _ShiftModel:
    """z_pred = z_context's last frame + the sum of the actions, the cost's only model."""

    def rollout(self, z_context, actions, *, last_only=False):
        z = z_context[:, None, -1:] + actions.cumsum(2).sum(-1, keepdim=True)[..., None]  # (B, N, H, 1, 1)
        z = z.expand(-1, -1, -1, *z_context.shape[2:])
        return z[:, :, -1:] if last_only else z


@pytest.mark.parametrize("name", ["cem", "mppi", "icem"])
def test_a_sampling_planner_reads_the_host_once_per_plan_whatever_its_iterations(name, count_host_reads):
    make = planner_factory(name)
    counts = []
    for iterations in (2, 6):
        planner = make(iterations=iterations)
        count_host_reads.clear()
        planner.plan(quadratic_cost(torch.zeros(3, 2)), batch_size=2)
        counts.append(len(count_host_reads))
    assert counts[0] == counts[1] <= 2, (counts, count_host_reads)


def test_the_gradient_planner_reads_the_host_once_per_plan_whatever_its_steps(count_host_reads):
    make = planner_factory("gd")
    counts = []
    for steps in (2, 6):
        planner = make(steps=steps, optimizer="sgd")  # Adam reads its step counter (a CPU tensor) every step
        count_host_reads.clear()
        planner.plan(quadratic_cost(torch.zeros(3, 2)), batch_size=2)
        counts.append(len(count_host_reads))
    assert counts[0] == counts[1] <= 2, (counts, count_host_reads)


def test_the_world_model_cost_reads_the_host_only_in_its_check(count_host_reads):
    cost_fn = make_cost_fn(_ShiftModel(), torch.zeros(2, 1, 4, 3), torch.ones(2, 4, 3))
    count_host_reads.clear()
    for _ in range(5):
        cost_fn(torch.rand(2, 8, 3, 1))
    assert count_host_reads == []
    cost_fn.check()
    assert len(count_host_reads) == 1
