"""The feature probe's statistics on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.feature_probe import moving_share, ridge_r2


def test_ridge_readout_recovers_a_linear_state_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 10, 30))  # (episodes, frames, features)
    linear = x[..., :2] @ np.array([[1.0, -2.0], [0.5, 3.0]])
    assert ridge_r2(x, linear + 0.01 * rng.normal(size=linear.shape)) > 0.99
    assert ridge_r2(x, rng.normal(size=(40, 10, 2))) < 0.1


def test_moving_share_is_zero_for_still_episodes_and_one_when_episodes_look_alike() -> None:
    rng = np.random.default_rng(0)
    still = np.repeat(rng.normal(size=(8, 1, 5)), 6, axis=1)  # every frame of an episode the same
    assert moving_share(still) == pytest.approx(0.0, abs=1e-12)
    alike = np.tile(rng.normal(size=(1, 6, 5)), (8, 1, 1))  # every episode the same sequence
    assert moving_share(alike) == pytest.approx(1.0)
