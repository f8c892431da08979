"""Feature statistics for the predictor's standardisation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from worldplan.data.windows import Track
from worldplan.train.feature_stats import MIN_STD, STD_FLOOR, feature_statistics, standardize_per_source


def _tracks(seed: int = 0) -> list[Track]:
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, (4, 3))
    return [Track(name=f"t{i}", z=(rng.normal(size=(5 + i, 4, 3)) * scale + 3).astype(np.float16), fps=10.0)
            for i in range(3)]


def test_patch_statistics_are_the_mean_and_std_of_every_frame_per_patch_and_feature() -> None:
    tracks = _tracks()
    frames = np.concatenate([np.asarray(t.z, dtype=np.float64) for t in tracks])
    mean, std = feature_statistics(tracks, "patch")
    assert mean.shape == std.shape == (4, 3)
    np.testing.assert_allclose(mean.numpy(), frames.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std.numpy(), frames.std(0), rtol=1e-4)


def test_channel_statistics_are_shared_by_all_patches() -> None:
    tracks = _tracks()
    frames = np.concatenate([np.asarray(t.z, dtype=np.float64) for t in tracks]).reshape(-1, 3)
    mean, std = feature_statistics(tracks, "channel")
    np.testing.assert_allclose(mean.numpy(), np.broadcast_to(frames.mean(0), (4, 3)), rtol=1e-5)
    np.testing.assert_allclose(std.numpy(), np.broadcast_to(frames.std(0), (4, 3)), rtol=1e-4)


def test_features_that_never_change_get_the_floor_not_a_zero_std() -> None:
    tracks = _tracks()
    constant = [Track(name=t.name, z=np.concatenate([np.asarray(t.z), np.ones((len(t.z), 1, 3), np.float16)], 1),
                      fps=10.0) for t in tracks]
    _, std = feature_statistics(constant, "patch")
    _, changing = feature_statistics(tracks, "patch")
    raw_mean = np.concatenate([changing.numpy().ravel(), np.zeros(3)]).mean()
    torch.testing.assert_close(std[-1], torch.full((3,), STD_FLOOR * float(raw_mean)))
    torch.testing.assert_close(std[:-1], changing)


def test_constant_features_get_a_tiny_positive_std() -> None:
    _, std = feature_statistics([Track(name="still", z=np.ones((4, 2, 3), np.float16), fps=10.0)], "patch")
    assert torch.all(std == MIN_STD)


def test_no_frames_or_an_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="no frames"):
        feature_statistics([], "patch")
    with pytest.raises(ValueError, match="'patch' or 'channel'"):
        feature_statistics(_tracks(), "none")


def _frames(tracks: list[Track]) -> np.ndarray:
    return np.concatenate([np.asarray(track.z, dtype=np.float64) for track in tracks])


def test_per_source_standardisation_gives_every_source_zero_mean_and_unit_std_where_pooled_would_not() -> None:
    small = _tracks(0)
    large = [replace(t, z=(np.asarray(t.z, np.float32) * 10 + 50).astype(np.float16)) for t in _tracks(1)]
    tracks = standardize_per_source([*small, *large], [len(small), len(large)], "patch")
    for source in (tracks[:3], tracks[3:]):
        np.testing.assert_allclose(_frames(source).mean(0), 0.0, atol=1e-2)
        np.testing.assert_allclose(_frames(source).std(0), 1.0, rtol=1e-2)
    pooled_mean, pooled_std = feature_statistics([*small, *large], "patch")
    assert np.abs((_frames(small) - pooled_mean.numpy()) / pooled_std.numpy()).mean(0).min() > 0.5
    window = tracks[4].z[np.array([0, 2])]
    assert window.shape == (2, 4, 3) and window.dtype == np.float16 and len(tracks[4].z) == len(large[1].z)
    np.testing.assert_array_equal(np.asarray(small[0].z), np.asarray(_tracks(0)[0].z))  # the cache is not touched


def test_per_source_items_must_account_for_every_track() -> None:
    with pytest.raises(ValueError, match="3 tracks but the sources list 4"):
        standardize_per_source(_tracks(), [2, 2], "patch")
