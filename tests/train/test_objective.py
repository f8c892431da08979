"""The training objective's rollout loss, and validation rollout errors against hand-computed values
(with a stub model whose dynamics are known)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worldplan.data.windows import Track, WindowDataset
from worldplan.models import DataWindow, Predictor, WorldModel
from worldplan.models.predictor import smooth_l1
from worldplan.train.objective import NextFrameObjective, rollout_errors

FRAMES, P, D = 8, 2, 3


def conditioned_model(*, proprio_dim: int = 0, residual: bool = False) -> WorldModel:
    """A width-16 predictor over (P, D) = (4, 8) features, context 3, A = 4, non-zero action blocks."""
    torch.manual_seed(0)
    predictor = Predictor(feature_dim=8, grid=(2, 2), width=16, depth=2, heads=2, layer_scale=0.5, action_dim=4,
                          proprio_dim=proprio_dim, residual=residual)
    with torch.no_grad():
        for param in predictor.actions.parameters():
            param.normal_(0.0, 0.3)
    predictor.set_feature_statistics(torch.rand(4, 8), torch.rand(4, 8) + 0.5)
    return WorldModel(predictor=predictor, window=DataWindow(context=3, horizon=1, frameskip=2, fps=10.0))


class IntegratorModel(torch.nn.Module):
    """Predicts z_{t+1} = z_t + a_t (first action dimension) for every candidate: exact on the data below."""

    def rollout(self, z_context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        last = z_context[:, None, -1:]  # (B, 1, 1, P, D)
        steps = actions[..., 0].cumsum(2)[..., None, None]  # (B, N, H, 1, 1)
        return last + steps


def track(speed: float) -> Track:
    """z of frame f is speed * f everywhere; every action is speed."""
    z = (speed * np.arange(FRAMES, dtype=np.float16))[:, None, None] * np.ones((1, P, D), np.float16)
    return Track(name=f"speed{speed}", z=z, fps=10.0, actions=np.full((FRAMES - 1, 1), speed, np.float32))


def test_errors_per_step_match_hand_computed_values() -> None:
    windows = WindowDataset([track(1.0), track(3.0)], length=5, stride=1, with_actions=True)  # 4 windows each
    errors = rollout_errors(IntegratorModel(), windows, context=2, batch_size=8, device=torch.device("cpu"))
    h = np.arange(1, 4)
    assert errors["windows"] == 8
    np.testing.assert_allclose(errors["model_mse"], 0.0, atol=1e-6)
    np.testing.assert_allclose(errors["copy_last_mse"], (h**2 * 1 + h**2 * 9) / 2, rtol=1e-6)
    np.testing.assert_allclose(errors["shuffled_actions_mse"], h**2 * 4, rtol=1e-6)  # speeds 1 <-> 3 swapped


def test_windows_without_a_horizon_are_rejected() -> None:
    windows = WindowDataset([track(1.0)], length=3, stride=1, with_actions=True)
    with pytest.raises(ValueError, match="no horizon"):
        rollout_errors(IntegratorModel(), windows, context=3, batch_size=4, device=torch.device("cpu"))


def test_a_one_step_rollout_loss_scores_the_teacher_forced_prediction_of_the_last_frame() -> None:
    model = conditioned_model()
    z, actions = torch.randn(2, 4, 4, 8), torch.randn(2, 3, 4)
    batch = {"z": z, "actions": actions}
    with torch.no_grad():
        teacher = NextFrameObjective(model, use_actions=True)(batch)
        both = NextFrameObjective(model, use_actions=True, rollout_weight=2.0)(batch)
        last = model(z, actions)[:, -1]
        expected = smooth_l1(model.predictor.standardize(last), model.predictor.standardize(z[:, -1]))
    torch.testing.assert_close(both - teacher, 2.0 * expected, rtol=1e-5, atol=1e-6)


def full_rollout_loss(objective: NextFrameObjective, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The reference: every step of the rollout from the T context frames predicted by ``WorldModel.rollout``."""
    model, z, actions, proprio = objective.model, batch["z"], batch["actions"], batch.get("proprio")
    context = model.window.context
    first = None if proprio is None else proprio[:, context - 1]
    rolled, predicted = model.rollout_with_proprio(z[:, :context], actions[:, None, context - 1 :], proprio=first)
    loss = objective._score(rolled[:, 0], z[:, context:])
    return loss if predicted is None else loss + objective._score_proprio(predicted[:, 0], proprio[:, context:])


@pytest.mark.parametrize(("proprio_dim", "residual"), [(0, False), (3, False), (0, True), (3, True)])
def test_the_rollout_loss_reusing_the_teacher_forced_first_step_equals_a_full_rollout(proprio_dim, residual) -> None:
    model = conditioned_model(proprio_dim=proprio_dim, residual=residual)
    batch = {"z": torch.randn(2, 6, 4, 8), "actions": torch.randn(2, 5, 4)}  # 3 context + 3 rolled-out frames
    if proprio_dim:
        batch["proprio"] = torch.randn(2, 6, proprio_dim)
    teacher = NextFrameObjective(model, use_actions=True)
    both = NextFrameObjective(model, use_actions=True, rollout_weight=2.0)

    def gradients(loss: torch.Tensor) -> list[torch.Tensor]:
        return torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad], allow_unused=True)

    fast, reference = both(batch), teacher(batch) + 2.0 * full_rollout_loss(teacher, batch)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-6)
    for got, want in zip(gradients(fast), gradients(reference)):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_the_rollout_loss_needs_actions_and_a_horizon() -> None:
    model = conditioned_model()
    with pytest.raises(ValueError, match="needs actions"):
        NextFrameObjective(model, use_actions=False, rollout_weight=1.0)
    objective = NextFrameObjective(model, use_actions=True, rollout_weight=1.0)
    with pytest.raises(ValueError, match="longer than the 3 context frames"):
        objective({"z": torch.randn(2, 3, 4, 8), "actions": torch.randn(2, 2, 4)})
