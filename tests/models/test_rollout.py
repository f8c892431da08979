"""WorldModel rollouts: shared-context equals naive (with proprioception too), candidates independent,
normalisation, input errors."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import features, tiny_world_model

from worldplan.costs import latent_goal_cost, make_cost_fn


def _context_and_actions(batch: int = 2, candidates: int = 3, horizon: int = 3) -> tuple[torch.Tensor, ...]:
    return features(batch, 3, 16, 32, seed=0), features(batch, candidates, horizon, 4, seed=1)


def test_rollout_shape_is_episodes_candidates_horizon_patches_features() -> None:
    z, actions = _context_and_actions()
    assert tiny_world_model().rollout(z, actions).shape == (2, 3, 3, 16, 32)


def test_shared_context_rollout_equals_naive_per_candidate_rollout() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    with torch.no_grad():
        torch.testing.assert_close(model.rollout(z, actions), model.rollout_naive(z, actions)[0], rtol=1e-5,
                                   atol=1e-5)


def test_residual_shared_rollout_equals_naive_and_teacher_forcing() -> None:
    model, (z, actions) = tiny_world_model(residual=True), _context_and_actions(candidates=2)
    with torch.no_grad():
        shared = model.rollout(z, actions)
        torch.testing.assert_close(shared, model.rollout_naive(z, actions)[0], rtol=1e-5, atol=1e-5)
        clip = torch.cat([z, torch.zeros(2, 1, 16, 32)], 1)
        teacher = model(clip, torch.cat([torch.zeros(2, 2, 4), actions[:, 0, :1]], 1))[:, -1]
        torch.testing.assert_close(shared[:, 0, 0], teacher, rtol=1e-5, atol=1e-5)


def test_residual_predictor_with_a_zero_head_copies_the_last_frame() -> None:
    model, (z, actions) = tiny_world_model(residual=True), _context_and_actions()
    with torch.no_grad():
        model.predictor.head.weight.zero_()
        model.predictor.head.bias.zero_()
        rolled = model.rollout(z, actions)
    torch.testing.assert_close(rolled, z[:, None, None, -1].expand_as(rolled))


@pytest.mark.parametrize("budget_mb", [None, 0.01])
def test_shared_rollout_with_proprio_equals_naive(budget_mb: float | None) -> None:
    model, (z, actions) = tiny_world_model(proprio_dim=2), _context_and_actions()
    model.memory_budget_mb = budget_mb  # 0.01: the candidates are rolled out in chunks
    proprio = features(2, 2, seed=5)  # (B, Sp) at the last context frame
    with torch.no_grad():
        shared, shared_proprio = model.rollout_with_proprio(z, actions, proprio=proprio)
        naive, naive_proprio = model.rollout_naive(z, actions, proprio=proprio)
    assert shared_proprio.shape == (2, 3, 3, 2)
    torch.testing.assert_close(shared, naive, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(shared_proprio, naive_proprio, rtol=1e-5, atol=1e-5)


def test_proprio_steps_after_the_first_use_the_models_own_prediction() -> None:
    model, (z, actions) = tiny_world_model(proprio_dim=2), _context_and_actions(candidates=1, horizon=2)
    proprio = features(2, 2, seed=5)
    with torch.no_grad():
        rolled, predicted = model.rollout_with_proprio(z, actions, proprio=proprio)
        clip = torch.cat([z, rolled[:, 0, :1], torch.zeros(2, 1, 16, 32)], 1)  # context, step 1, (step 2)
        given = torch.cat([torch.zeros(2, 2, 2), proprio[:, None], predicted[:, 0, :1]], 1)
        teacher, teacher_proprio = model.forward_with_proprio(clip, torch.cat([torch.zeros(2, 2, 4), actions[:, 0]], 1),
                                                              given)
    torch.testing.assert_close(rolled[:, 0, 1], teacher[:, -1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(predicted[:, 0, 1], teacher_proprio[:, -1], rtol=1e-5, atol=1e-5)


def test_a_proprio_model_needs_the_current_proprio_and_others_refuse_it() -> None:
    z, actions = _context_and_actions()
    with pytest.raises(ValueError, match=r"takes proprioception: pass proprio=\(B, Sp\) = \(2, 2\)"):
        tiny_world_model(proprio_dim=2).rollout(z, actions)
    with pytest.raises(ValueError, match="takes no proprioception"):
        tiny_world_model().rollout(z, actions, proprio=torch.zeros(2, 2))


def test_first_step_equals_the_teacher_forced_prediction() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions(candidates=1)
    clip = torch.cat([z, torch.zeros(2, 1, 16, 32)], 1)
    with torch.no_grad():
        teacher = model(clip, torch.cat([torch.zeros(2, 2, 4), actions[:, 0, :1]], 1))[:, -1]
        torch.testing.assert_close(model.rollout(z, actions)[:, 0, 0], teacher, rtol=1e-5, atol=1e-5)


def test_one_candidates_actions_do_not_change_another_candidates_prediction() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    changed = actions.clone()
    changed[:, 1] += 1.0
    with torch.no_grad():
        before, after = model.rollout(z, actions), model.rollout(z, changed)
    torch.testing.assert_close(after[:, 0], before[:, 0], rtol=1e-6, atol=1e-6)
    assert (after[:, 1] - before[:, 1]).abs().max() > 1e-3


def test_actions_are_normalised_with_the_tiled_dataset_statistics() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    mean, std = torch.tensor([0.1, -0.2, 0.1, -0.2]), torch.tensor([0.5, 2.0, 0.5, 2.0])
    torch.testing.assert_close(model.action_mean, mean)
    with torch.no_grad():
        expected = model.rollout_naive(z, actions)[0]
        model.action_mean.zero_()
        model.action_std.fill_(1.0)
        torch.testing.assert_close(model.rollout_naive(z, (actions - mean) / std)[0], expected)


def test_action_free_rollout_needs_a_horizon_and_gives_one_candidate() -> None:
    model, (z, _) = tiny_world_model(action_dim=None), _context_and_actions()
    assert model.rollout(z, None, horizon=2).shape == (2, 1, 2, 16, 32)
    with pytest.raises(ValueError, match="horizon"):
        model.rollout(z, None)


def test_action_size_mismatch_names_both_sizes() -> None:
    z, actions = _context_and_actions()
    with pytest.raises(ValueError, match="size 2 per model step; this model expects 4"):
        tiny_world_model().rollout(z, actions[..., :2])


@pytest.mark.parametrize("where", ["z_context", "actions"])
def test_non_finite_inputs_are_rejected(where: str) -> None:
    z, actions = _context_and_actions()
    (z if where == "z_context" else actions)[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=f"{where} contain NaN"):
        tiny_world_model().rollout(z, actions)


def test_actions_for_another_batch_size_are_rejected() -> None:
    z, actions = _context_and_actions()
    with pytest.raises(ValueError, match=r"\(B, N, H, A\) with B=2"):
        tiny_world_model().rollout(z, actions[:1])


def test_encode_gives_features_and_rejects_a_wrong_image_size() -> None:
    model = tiny_world_model(encoder=True)
    frames = torch.zeros(1, 2, 64, 64, 3, dtype=torch.uint8)
    assert model.encode(frames).shape == (1, 2, 16, 32)
    with pytest.raises(ValueError, match="48 px but the model was trained on 64 px"):
        model.encode(torch.zeros(1, 2, 48, 48, 3, dtype=torch.uint8))


def test_encode_without_an_encoder_says_so() -> None:
    with pytest.raises(ValueError, match="no encoder"):
        tiny_world_model().encode(torch.zeros(1, 2, 64, 64, 3, dtype=torch.uint8))


def test_bf16_rollout_is_close_to_fp32() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    with torch.no_grad():
        fp32 = model.rollout(z, actions)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model.rollout(z, actions)
    assert bf16.dtype == torch.float32 and (bf16 - fp32).norm() / fp32.norm() < 0.05


def test_actions_for_an_action_free_model_are_rejected() -> None:
    z, actions = _context_and_actions()
    with pytest.raises(ValueError, match="action-free"):
        tiny_world_model(action_dim=None).rollout(z, actions)


@pytest.mark.parametrize("overrides", [{}, {"residual": True}, {"proprio_dim": 2}])
def test_last_only_rollout_is_the_last_step_of_the_full_one(overrides: dict) -> None:
    model, (z, actions) = tiny_world_model(**overrides), _context_and_actions()
    proprio = features(2, 2, seed=5) if overrides.get("proprio_dim") else None
    with torch.no_grad():
        full = model.rollout(z, actions, proprio=proprio)
        last = model.rollout(z, actions, proprio=proprio, last_only=True)
    assert last.shape == (2, 3, 1, 16, 32)
    torch.testing.assert_close(last, full[:, :, -1:], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(last[:, :, 0], model.rollout_naive(z, actions, proprio=proprio)[0][:, :, -1],
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("budget_mb", [0.01, 0.05])
def test_rollouts_chunked_under_a_memory_budget_equal_one_call(budget_mb: float) -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions(candidates=7)
    with torch.no_grad():
        whole = model.rollout(z, actions)
        model.memory_budget_mb = budget_mb
        chunk = model.candidates_per_call(2, 3, 3)
        chunked = model.rollout(z, actions)
    assert 1 <= chunk < 7  # the budget does split the candidates
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_last_step_cost_equals_the_cost_of_the_full_rollout() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    goal = features(2, 16, 32, seed=9)
    with torch.no_grad():
        reference = latent_goal_cost(model.rollout(z, actions), goal, steps="last")
        weighted = latent_goal_cost(model.rollout(z, actions), goal, steps="all")
    torch.testing.assert_close(make_cost_fn(model, z, goal)(actions), reference, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(make_cost_fn(model, z, goal, steps="all")(actions), weighted, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("steps", ["last", "all"])
def test_a_proprio_cost_adds_the_weighted_normalised_distance_to_the_goal_proprio(steps: str) -> None:
    model, (z, actions) = tiny_world_model(proprio_dim=2), _context_and_actions()
    goal, proprio, proprio_goal = features(2, 16, 32, seed=9), features(2, 2, seed=5), features(2, 2, seed=6)
    with torch.no_grad():
        rolled, predicted = model.rollout_with_proprio(z, actions, proprio=proprio)
        expected = latent_goal_cost(rolled, goal, steps=steps, proprio_pred=model.normalize_proprio(predicted),
                                    proprio_goal=model.normalize_proprio(proprio_goal), proprio_weight=0.3)
        latents_only = latent_goal_cost(rolled, goal, steps=steps)
    cost_fn = make_cost_fn(model, z, goal, proprio=proprio, proprio_goal=proprio_goal, steps=steps, proprio_weight=0.3)
    torch.testing.assert_close(cost_fn(actions), expected, rtol=1e-5, atol=1e-6)
    assert (expected > latents_only).all()
    without_goal = make_cost_fn(model, z, goal, proprio=proprio, steps=steps)  # e.g. a goal given as an image
    torch.testing.assert_close(without_goal(actions), latents_only, rtol=1e-5, atol=1e-6)


def test_a_differentiable_cost_gives_finite_action_gradients_and_leaves_the_weights_alone() -> None:
    model, (z, actions) = tiny_world_model(), _context_and_actions()
    model.requires_grad_(False)
    goal = features(2, 16, 32, seed=9)
    actions = actions.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(make_cost_fn(model, z, goal, differentiable=True)(actions).sum(), actions)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    with pytest.raises(RuntimeError):  # the default cost runs without a graph
        torch.autograd.grad(make_cost_fn(model, z, goal)(actions).sum(), actions)
