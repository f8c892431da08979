"""Feature cache: encoded once, reused, resumable, stale caches detected; video folders."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from worldplan.data.episodes import DatasetMeta, Episode, EpisodeDataset, EpisodeWriter
from worldplan.data.features import CacheNotFoundError, FeatureCache, StaleCacheError, encode_dataset
from worldplan.data.videos_folder import VideoFolder

S = 8  # image side; the fake encoder makes 2 x 2 patches of 3 channel means


class MeanPatchEncoder(torch.nn.Module):
    """Analytic stand-in for FrozenEncoder: (n, S, S, 3) uint8 -> (n, 4, 3) per-quadrant means."""

    def __init__(self, name: str = "mean-patch") -> None:
        super().__init__()
        self.name, self.frames_seen = name, 0

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        self.frames_seen += frames.shape[0]
        n, s = frames.shape[0], frames.shape[1]
        grid = frames.float().reshape(n, 2, s // 2, 2, s // 2, 3).mean(dim=(2, 4))
        return grid.reshape(n, 4, 3)

    def identity(self) -> dict:
        return {"model": self.name, "weights": "none", "image_size": S}

    def cache_key(self) -> str:
        return f"{self.name}-key"


def make_dataset(path: Path, episodes: int = 3, length: int = 5) -> EpisodeDataset:
    meta = DatasetMeta(env_id="test/Fake-v0", env_kwargs={}, image_size=S, action_low=[-1.0], action_high=[1.0],
                       state_dim=1, fps=10.0, policy="random", noise=0.0, max_steps=length, base_seed=0)
    writer = EpisodeWriter(path, meta)
    add_episodes(writer, episodes, length)
    return EpisodeDataset.open(path)


def add_episodes(writer: EpisodeWriter, count: int, length: int) -> None:
    for _ in range(count):
        seed = len(writer)
        rng = np.random.default_rng(seed)
        writer.add(Episode(frames=rng.integers(0, 256, (length + 1, S, S, 3), dtype=np.uint8),
                           actions=np.zeros((length, 1), np.float32), states=np.zeros((length + 1, 1), np.float32),
                           seed=seed))


def test_cached_features_are_the_encoder_outputs_in_fp16(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    encoder = MeanPatchEncoder()
    cache = encode_dataset(ds, encoder, batch_size=4, device="cpu", progress=False)
    assert cache.directory == tmp_path / "ds" / "features" / "mean-patch-key"
    z = cache.features(1)
    assert z.shape == (6, 4, 3) and z.dtype == np.float16 and isinstance(z, np.memmap)
    expected = encoder(torch.from_numpy(np.array(ds[1].frames))).half().numpy()
    np.testing.assert_array_equal(z, expected)
    assert cache.fps(1) == 10.0


def test_second_encode_does_no_work(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    encoder = MeanPatchEncoder()
    encode_dataset(ds, encoder, batch_size=4, device="cpu", progress=False)
    assert encoder.frames_seen == 3 * 6
    again = encode_dataset(ds, encoder, batch_size=4, device="cpu", progress=False)
    assert encoder.frames_seen == 3 * 6
    assert len(again) == 3


def test_open_finds_the_cache_by_encoder_identity(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    encode_dataset(ds, MeanPatchEncoder(), batch_size=4, device="cpu", progress=False)
    assert len(FeatureCache.open(ds, MeanPatchEncoder().identity())) == 3
    with pytest.raises(CacheNotFoundError, match="mean-patch-key"):
        FeatureCache.open(ds, MeanPatchEncoder("other").identity())


def test_new_episodes_make_the_cache_stale_and_only_they_are_encoded(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    encoder = MeanPatchEncoder()
    encode_dataset(ds, encoder, batch_size=4, device="cpu", progress=False)
    add_episodes(EpisodeWriter(tmp_path / "ds", ds.meta), 2, 5)
    grown = EpisodeDataset.open(tmp_path / "ds")
    with pytest.raises(StaleCacheError, match="2 of 5 items are not encoded"):
        FeatureCache.open(grown, encoder.identity())
    encode_dataset(grown, encoder, batch_size=4, device="cpu", progress=False)
    assert encoder.frames_seen == 5 * 6
    assert len(FeatureCache.open(grown, encoder.identity())) == 5


def test_a_changed_episode_makes_the_cache_stale(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    encode_dataset(ds, MeanPatchEncoder(), batch_size=4, device="cpu", progress=False)
    meta_path = tmp_path / "ds" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["episodes"][1]["seed"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(StaleCacheError, match="item 1 changed"):
        FeatureCache.open(EpisodeDataset.open(tmp_path / "ds"), MeanPatchEncoder().identity())


class FailingEncoder(MeanPatchEncoder):
    """Raises on the call that would pass ``fail_after`` frames (an interrupted encoding)."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if self.frames_seen + frames.shape[0] > self.fail_after:
            raise KeyboardInterrupt
        return super().forward(frames)


def test_interrupted_encoding_resumes_with_the_missing_items(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "ds")
    with pytest.raises(KeyboardInterrupt):
        encode_dataset(ds, FailingEncoder(fail_after=8), batch_size=6, device="cpu", progress=False)
    with pytest.raises(StaleCacheError, match="2 of 3"):
        FeatureCache.open(ds, MeanPatchEncoder().identity())
    encoder = MeanPatchEncoder()
    encode_dataset(ds, encoder, batch_size=6, device="cpu", progress=False)
    assert encoder.frames_seen == 2 * 6


def test_video_folder_is_encoded_with_each_files_fps(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "videos" / "sub").mkdir(parents=True)
    iio.imwrite(tmp_path / "videos" / "a.gif", rng.integers(0, 256, (5, 12, 16, 3), dtype=np.uint8), duration=50)
    iio.imwrite(tmp_path / "videos" / "sub" / "b.mp4", rng.integers(0, 256, (7, 32, 48, 3), dtype=np.uint8), fps=15)
    folder = VideoFolder(tmp_path / "videos", size=S)
    cache = encode_dataset(folder, MeanPatchEncoder(), batch_size=4, device="cpu", progress=False)
    assert [cache.features(i).shape for i in range(2)] == [(5, 4, 3), (7, 4, 3)]
    assert [cache.fps(0), cache.fps(1)] == [20.0, 15.0]
    assert len(FeatureCache.open(VideoFolder(tmp_path / "videos", size=S), MeanPatchEncoder().identity())) == 2
    with pytest.raises(StaleCacheError, match="settings changed"):
        FeatureCache.open(VideoFolder(tmp_path / "videos", size=2 * S), MeanPatchEncoder().identity())


def test_an_empty_video_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no video files"):
        VideoFolder(tmp_path, size=S)
