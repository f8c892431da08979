"""Predictor: block-causal parallel prediction, timestamps through RoPE, loss helper, config errors."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import features, tiny_predictor

from worldplan.models import Predictor, smooth_l1
from worldplan.models.rope import AxialRoPE, apply_rope


def _clip(batch: int = 2, frames: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return features(batch, frames, 16, 32, seed=seed), torch.arange(frames).float().mul(0.2).expand(batch, frames)


def test_forward_predicts_frames_one_to_t_minus_one() -> None:
    z, times = _clip()
    assert tiny_predictor()(z, times).shape == (2, 3, 16, 32)


def test_changing_a_later_frame_changes_no_earlier_prediction() -> None:
    predictor, (z, times) = tiny_predictor(layer_scale=0.5), _clip()
    changed = z.clone()
    changed[:, 2] += 1.0
    before, after = predictor(z, times), predictor(changed, times)
    torch.testing.assert_close(after[:, :2], before[:, :2], rtol=0, atol=0)  # predictions of frames 1, 2
    assert (after[:, 2] - before[:, 2]).abs().max() > 1e-3  # frame 3 sees frame 2


def test_parallel_forward_equals_one_frame_at_a_time() -> None:
    predictor, (z, times) = tiny_predictor(layer_scale=0.5), _clip()
    parallel = predictor(z, times)
    for k in range(1, 4):
        single = predictor.predict_at(z[:, :k], times[:, :k], times[:, k])
        torch.testing.assert_close(parallel[:, k - 1], single, rtol=1e-5, atol=1e-5)


def test_a_different_target_time_gives_a_different_prediction() -> None:
    predictor, (z, times) = tiny_predictor(layer_scale=0.5), _clip()
    with torch.no_grad():  # sharper attention than at init, as after training
        for block in predictor.blocks:
            block.q.weight.mul_(10.0)
            block.kv.weight.mul_(10.0)
    near = predictor.predict_at(z, times, times[:, -1] + 0.2)
    again = predictor.predict_at(z, times, times[:, -1] + 0.2)
    far = predictor.predict_at(z, times, times[:, -1] + 0.6)
    assert torch.equal(near, again) and (far - near).abs().max() > 1e-3


def test_shifting_all_timestamps_leaves_predictions_unchanged() -> None:
    predictor, (z, times) = tiny_predictor(layer_scale=0.5), _clip()
    torch.testing.assert_close(predictor(z, times + 3.7), predictor(z, times), rtol=1e-4, atol=1e-4)


def test_rope_scores_depend_only_on_position_differences() -> None:
    rope = AxialRoPE(head_dim=12, grid=(2, 2), base=100.0, time_scale=10.0, spatial_scale=8.0)
    q, k = features(1, 4, 12, seed=1), features(1, 4, 12, seed=2)
    scores = []
    for t0 in (0.0, 1.3):
        cos, sin = rope.angles(torch.tensor([[t0]]))
        cos_k, sin_k = rope.angles(torch.tensor([[t0 + 0.4]]))
        scores.append(apply_rope(q, cos, sin) @ apply_rope(k, cos_k, sin_k).transpose(-1, -2))
    torch.testing.assert_close(scores[0], scores[1], rtol=1e-4, atol=1e-4)


def test_smooth_l1_is_quadratic_below_beta_and_linear_above() -> None:
    zero = torch.zeros(2)
    assert smooth_l1(torch.tensor([1.0, 1.0]), zero).item() == pytest.approx(0.95)  # |x| - beta / 2
    assert smooth_l1(torch.tensor([0.05, 0.05]), zero).item() == pytest.approx(0.0125)  # x^2 / (2 beta)


def test_wrong_feature_shape_is_rejected_with_the_expected_shape() -> None:
    z, times = _clip()
    with pytest.raises(ValueError, match=r"\(P, D\) = \(16, 32\)"):
        tiny_predictor()(z[:, :, :8], times)


def test_single_frame_cannot_be_trained_on() -> None:
    z, times = _clip(frames=1)
    with pytest.raises(ValueError, match="at least 2 frames"):
        tiny_predictor()(z, times)


def test_odd_head_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="even head size"):
        tiny_predictor(width=30, heads=2)


def test_unknown_config_key_is_named() -> None:
    with pytest.raises(ValueError, match="widht"):
        Predictor.from_config({"widht": 32, "depth": 2, "heads": 2}, feature_dim=32, grid=(4, 4))


@pytest.mark.parametrize("residual", [False, True])
def test_feature_statistics_only_change_the_units_the_predictor_works_in(residual: bool) -> None:
    z, times = features(2, 3, 16, 32, seed=3), torch.arange(3.0).expand(2, 3)
    mean, std = features(16, 32, seed=4), features(16, 32, seed=5).abs() + 0.5
    plain, standardised = (tiny_predictor(layer_scale=0.5, residual=residual) for _ in range(2))
    standardised.set_feature_statistics(mean, std)
    with torch.no_grad():
        expected = plain((z - mean) / std, times) * std + mean
        torch.testing.assert_close(standardised(z, times), expected, rtol=1e-4, atol=1e-4)


def test_feature_statistics_must_be_finite_with_a_positive_std() -> None:
    predictor = tiny_predictor()
    with pytest.raises(ValueError, match="positive std"):
        predictor.set_feature_statistics(torch.zeros(16, 32), torch.zeros(16, 32))
