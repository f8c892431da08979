"""Training windows: shapes, timestamps and action chunks against hand-indexed arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from worldplan.data.windows import NonFiniteDataError, Track, WindowDataset, split_episodes

P, D, A_ENV = 2, 3, 2


def make_track(frames: int = 30, *, fps: float = 10.0, name: str = "ep_000000", offset: float = 0.0) -> Track:
    """Frame f has features all equal to f + offset; action t is (t, -t); proprio f is (f, 2f)."""
    z = (np.arange(frames, dtype=np.float16)[:, None, None] + offset) * np.ones((1, P, D), np.float16)
    actions = np.stack([np.arange(frames - 1), -np.arange(frames - 1)], axis=1).astype(np.float32)
    proprio = np.stack([np.arange(frames), 2 * np.arange(frames)], axis=1).astype(np.float32)
    return Track(name=name, z=z, fps=fps, actions=actions, proprio=proprio)


def test_fixed_stride_window_matches_hand_indexing() -> None:
    track = make_track(30)
    ds = WindowDataset([track], length=4, stride=5, with_actions=True, with_proprio=True)
    assert len(ds) == 30 - 3 * 5
    item = ds[7]
    frames = [7, 12, 17, 22]
    assert item["z"].shape == (4, P, D) and item["z"].dtype == torch.float16
    np.testing.assert_array_equal(item["z"].numpy(), track.z[frames])
    np.testing.assert_allclose(item["times"].numpy(), [0.0, 0.5, 1.0, 1.5])
    expected = np.stack([track.actions[t : t + 5].reshape(-1) for t in frames[:-1]])
    assert item["actions"].shape == (3, 5 * A_ENV)
    np.testing.assert_array_equal(item["actions"].numpy(), expected)
    assert item["actions"][0, :4].tolist() == [7, -7, 8, -8]
    np.testing.assert_array_equal(item["proprio"].numpy(), track.proprio[frames])


def test_windows_cover_every_start_of_every_track() -> None:
    tracks = [make_track(12, name="a"), make_track(9, name="b", offset=100)]
    ds = WindowDataset(tracks, length=3, stride=2)
    starts = [(ds[i]["track"], ds[i]["start"]) for i in range(len(ds))]
    assert starts == [(0, t) for t in range(12 - 4)] + [(1, t) for t in range(9 - 4)]
    assert float(ds[len(ds) - 1]["z"][0, 0, 0]) == 100 + 4


def test_random_stride_gives_variable_timestamps_that_follow_the_frames() -> None:
    ds = WindowDataset([make_track(60, fps=10.0)], length=4, stride_seconds=(1 / 25, 1 / 3), seed=3)
    strides = set()
    for index in range(len(ds)):
        item = ds[index]
        frames = item["z"][:, 0, 0].float().numpy()
        stride = frames[1] - frames[0]
        np.testing.assert_allclose(np.diff(frames), stride)
        np.testing.assert_allclose(item["times"].numpy(), np.arange(4) * stride / 10.0, rtol=1e-6)
        strides.add(int(stride))
    assert strides == {1, 2, 3}  # 1/25 s .. 1/3 s at 10 fps


def test_random_stride_depends_only_on_seed_epoch_and_index() -> None:
    ds = WindowDataset([make_track(60)], length=4, stride_seconds=(0.1, 0.5), seed=0)
    n = len(ds)
    again = WindowDataset([make_track(60)], length=4, stride_seconds=(0.1, 0.5), seed=0)
    assert all(torch.equal(ds[i]["times"], again[i]["times"]) for i in range(n))
    epoch_one = [ds[n + i]["times"][1].item() for i in range(n)]
    assert epoch_one != [ds[i]["times"][1].item() for i in range(n)]


def test_nan_actions_raise_an_error_naming_the_episode() -> None:
    track = make_track(10)
    actions = track.actions.copy()
    actions[4, 1] = np.nan
    with pytest.raises(NonFiniteDataError, match="ep_000007.*step 4"):
        Track(name="ep_000007", z=track.z, fps=10.0, actions=actions)


def test_nan_features_raise_an_error_naming_the_episode() -> None:
    z = make_track(10).z.copy()
    z[3, 0, 1] = np.inf
    ds = WindowDataset([Track(name="ep_000002", z=z, fps=10.0)], length=2, stride=1)
    assert ds[0]["z"].shape == (2, P, D)
    with pytest.raises(NonFiniteDataError, match="ep_000002"):
        ds[2]


def test_actions_need_a_fixed_stride() -> None:
    with pytest.raises(ValueError, match="fixed stride"):
        WindowDataset([make_track()], length=3, stride_seconds=(0.1, 0.2), with_actions=True)


def test_tracks_too_short_for_the_window_are_rejected() -> None:
    with pytest.raises(ValueError, match="long enough"):
        WindowDataset([make_track(10)], length=4, stride=5)


def test_split_is_by_episode_seeded_and_disjoint() -> None:
    split = split_episodes(20, val_fraction=0.2, seed=1)
    assert len(split.val) == 4 and len(split.train) == 16
    assert sorted(split.train + split.val) == list(range(20))
    assert split == split_episodes(20, val_fraction=0.2, seed=1)
    assert split.val != split_episodes(20, val_fraction=0.2, seed=2).val
