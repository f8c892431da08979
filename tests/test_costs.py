"""Latent goal costs: shapes, zero at the goal, L1 vs L2, step weighting, proprio term, NaN guard."""

from __future__ import annotations

import pytest
import torch

from worldplan.costs import NonFiniteCostError, latent_goal_cost, make_cost_fn

B, N, H, P, D = 2, 3, 4, 5, 6


@pytest.fixture
def latents() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(B, N, H, P, D, generator=gen), torch.randn(B, P, D, generator=gen)


def test_cost_has_one_value_per_episode_and_candidate(latents):
    z_pred, z_goal = latents
    assert latent_goal_cost(z_pred, z_goal).shape == (B, N)
    assert latent_goal_cost(z_pred, z_goal, steps="all").shape == (B, N)


def test_true_goal_has_zero_cost(latents):
    _, z_goal = latents
    z_pred = z_goal[:, None, None].expand(B, N, H, P, D)
    for metric in ("l1", "l2"):
        for steps in ("last", "all"):
            assert torch.equal(latent_goal_cost(z_pred, z_goal, metric=metric, steps=steps), torch.zeros(B, N))


def test_l2_is_mean_squared_and_l1_mean_absolute_error():
    z_goal = torch.zeros(1, 2, 1)
    z_pred = torch.tensor([1.0, -3.0]).view(1, 1, 1, 2, 1)
    assert latent_goal_cost(z_pred, z_goal, metric="l2").item() == pytest.approx(5.0)
    assert latent_goal_cost(z_pred, z_goal, metric="l1").item() == pytest.approx(2.0)


def test_last_step_ignores_earlier_steps(latents):
    z_pred, z_goal = latents
    changed = z_pred.clone()
    changed[:, :, :-1] += 10.0
    assert torch.equal(latent_goal_cost(z_pred, z_goal), latent_goal_cost(changed, z_goal))


def test_all_steps_default_weights_increase_with_step():
    z_goal = torch.zeros(1, 1, 1)
    # step k (0-based) has squared error 1 only at that step; default weights are (k+1) / sum(1..H)
    costs = []
    for k in range(H):
        z_pred = torch.zeros(1, 1, H, 1, 1)
        z_pred[0, 0, k] = 1.0
        costs.append(latent_goal_cost(z_pred, z_goal, steps="all").item())
    expected = [(k + 1) / (H * (H + 1) / 2) for k in range(H)]
    assert costs == pytest.approx(expected)


def test_all_steps_with_given_weights_is_weighted_mean():
    z_goal = torch.zeros(1, 1, 1)
    z_pred = torch.arange(H, dtype=torch.float32).view(1, 1, H, 1, 1)  # squared errors 0, 1, 4, 9
    cost = latent_goal_cost(z_pred, z_goal, steps="all", step_weights=[1, 0, 0, 1])
    assert cost.item() == pytest.approx(4.5)


def test_step_weights_of_wrong_length_are_rejected(latents):
    z_pred, z_goal = latents
    with pytest.raises(ValueError, match="step_weights"):
        latent_goal_cost(z_pred, z_goal, steps="all", step_weights=[1.0, 2.0])


def test_unknown_metric_is_rejected(latents):
    z_pred, z_goal = latents
    with pytest.raises(ValueError, match="metric"):
        latent_goal_cost(z_pred, z_goal, metric="cosine")


def test_proprio_term_adds_weighted_error():
    z_goal = torch.zeros(1, 1, 1)
    z_pred = torch.zeros(1, 1, 1, 1, 1)
    proprio_pred = torch.tensor([2.0, 0.0]).view(1, 1, 1, 2)
    cost = latent_goal_cost(
        z_pred, z_goal, proprio_pred=proprio_pred, proprio_goal=torch.zeros(1, 2), proprio_weight=0.5
    )
    assert cost.item() == pytest.approx(0.5 * 2.0)


class _ShiftModel:
    """rollout: the last context latent plus the cumulative sum of the (scalar) actions, at every step."""

    def rollout(self, z_context: torch.Tensor, actions: torch.Tensor, *, last_only: bool = False) -> torch.Tensor:
        steps = actions.sum(-1).cumsum(-1)  # (B, N, H)
        z = z_context[:, -1][:, None, None] + steps[..., None, None]
        return z[:, :, -1:] if last_only else z


def test_cost_fn_is_zero_for_actions_that_reach_the_goal():
    z_context = torch.zeros(1, 1, 2, 3)
    cost_fn = make_cost_fn(_ShiftModel(), z_context, torch.full((1, 2, 3), 2.0))
    actions = torch.tensor([[1.0, 1.0], [0.0, 0.0]]).view(1, 2, 2, 1)
    assert torch.allclose(cost_fn(actions), torch.tensor([[0.0, 4.0]]))


def test_cost_fn_check_raises_after_any_nan_cost():
    cost_fn = make_cost_fn(_ShiftModel(), torch.zeros(1, 1, 2, 3), torch.zeros(1, 2, 3))
    cost_fn(torch.zeros(1, 2, 2, 1))
    cost_fn.check()  # all finite so far
    cost_fn(torch.tensor([0.0, float("nan")]).view(1, 2, 1, 1).expand(1, 2, 2, 1))
    with pytest.raises(NonFiniteCostError, match="1 of 4 planning costs are NaN"):
        cost_fn.check()


def test_cost_fn_rejects_unknown_options_when_built():
    with pytest.raises(ValueError, match="steps"):
        make_cost_fn(_ShiftModel(), torch.zeros(1, 1, 2, 3), torch.zeros(1, 2, 3), steps="first")
