"""``shift_plan``: the warm start of the next MPC step."""

from __future__ import annotations

import pytest
import torch

from worldplan.planners import shift_plan

PLAN = torch.arange(12.0).view(2, 3, 2)  # (B, H, A): episode 0 steps [0,1], [2,3], [4,5]


def test_shift_drops_executed_steps_and_repeats_the_last_action() -> None:
    shifted = shift_plan(PLAN, 1)
    assert torch.equal(shifted[0], torch.tensor([[2.0, 3.0], [4.0, 5.0], [4.0, 5.0]]))
    assert torch.equal(shifted[1], torch.tensor([[8.0, 9.0], [10.0, 11.0], [10.0, 11.0]]))


def test_shift_by_zero_is_a_copy() -> None:
    shifted = shift_plan(PLAN, 0)
    assert torch.equal(shifted, PLAN) and shifted.data_ptr() != PLAN.data_ptr()


def test_shift_by_the_whole_horizon_repeats_the_last_action() -> None:
    assert torch.equal(shift_plan(PLAN, 5), PLAN[:, -1:].expand(2, 3, 2))


def test_shift_by_negative_steps_raises() -> None:
    with pytest.raises(ValueError, match="steps must be >= 0"):
        shift_plan(PLAN, -1)


def test_shift_of_a_plan_without_batch_axis_raises() -> None:
    with pytest.raises(ValueError, match=r"shape \(B, H, A\)"):
        shift_plan(PLAN[0], 1)
