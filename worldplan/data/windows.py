"""Training windows: clips of cached patch features with timestamps, chunked actions and proprioception.

Axis legend: F frames of a track (an episode or a video), L frames of a window (context + horizon),
P patches, D feature size, A_env env action size, A = frameskip x A_env (action of one model step),
Sp proprioception size.

A window starts at frame ``t0`` of a track and takes ``L`` frames at a stride of ``s`` frames:
frames ``t0, t0 + s, ..., t0 + (L-1) s``; their timestamps are ``j * s / fps`` seconds (j = 0..L-1),
and the action of model step j is the concatenation of the env actions
``actions[t0 + j s : t0 + (j+1) s]``, shape (s * A_env,), in raw env units (the model normalises).
Fine-tuning uses a fixed stride (the ``frameskip`` of the model's ``DataWindow``, with
L = context + horizon); pretraining samples the stride per clip from a range of seconds (variable
frame rate), so timestamps vary from clip to clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["NonFiniteDataError", "Track", "WindowDataset", "EpisodeSplit", "split_episodes"]


class NonFiniteDataError(ValueError):
    """NaN or inf found in features, actions or states; the message names the track."""


@dataclass(frozen=True)
class Track:
    """One episode or video as training reads it.

    Attributes:
        name: how errors name it, e.g. ``"<dataset>/ep_000003"``.
        z: (F, P, D) patch features (fp16 memmap from the feature cache).
        fps: frames per second of the track.
        actions: (F-1, A_env) float32 env actions, or None (action-free video).
        proprio: (F, Sp) float32 proprioception, or None.
    """

    name: str
    z: np.ndarray
    fps: float
    actions: np.ndarray | None = None
    proprio: np.ndarray | None = None

    def __post_init__(self) -> None:
        frames = len(self.z)
        if self.fps <= 0:
            raise ValueError(f"{self.name}: fps must be > 0, got {self.fps}")
        if self.actions is not None and len(self.actions) != frames - 1:
            raise ValueError(f"{self.name}: {len(self.actions)} actions for {frames} frames (need F-1)")
        if self.proprio is not None and len(self.proprio) != frames:
            raise ValueError(f"{self.name}: {len(self.proprio)} proprio vectors for {frames} frames (need F)")
        for label, array in (("actions", self.actions), ("proprio", self.proprio)):
            if array is not None and not np.isfinite(array).all():
                bad = int(np.argwhere(~np.isfinite(array))[0, 0])
                raise NonFiniteDataError(f"{self.name}: non-finite {label} (first at step {bad}); fix or drop it")


class WindowDataset(Dataset):
    """A torch Dataset over (track, start) pairs yielding windows of ``length`` frames.

    Each item is a dict: ``z`` (L, P, D) float16, ``times`` (L,) float32 seconds from the first
    frame, ``track`` and ``start`` (ints), plus ``actions`` (L-1, s * A_env) float32 and ``proprio``
    (L, Sp) float32 when asked for.

    Args:
        tracks: the episodes / videos to cut windows from.
        length: L, frames per window (>= 2).
        stride: a fixed frame stride (fine-tuning: the model's frameskip), or None to sample one
            per clip from ``stride_seconds`` (pretraining).
        stride_seconds: (low, high) seconds between consecutive window frames when ``stride`` is
            None; the frame stride is drawn uniformly from the integers whose duration lies in the
            range at the track's fps (at least 1 frame).
        with_actions: yield ``actions``; needs a fixed stride and tracks that have actions.
        with_proprio: yield ``proprio``; needs tracks that have it.
        seed: seeds the stride draws, which depend only on (seed, epoch, index): reproducible
            under any sampler, number of worker or training processes, and resume point.

    Indices past ``len(self)`` are epoch-tagged: index ``epoch * len(self) + i`` is window ``i``
    with the strides of pass ``epoch`` (see ``worldplan.train.sampler.StepBatchSampler``), so the
    random strides change from pass to pass without any state in the dataset or its workers.
    """

    def __init__(
        self,
        tracks: list[Track],
        *,
        length: int,
        stride: int | None = None,
        stride_seconds: tuple[float, float] | None = None,
        with_actions: bool = False,
        with_proprio: bool = False,
        seed: int = 0,
    ) -> None:
        if length < 2:
            raise ValueError(f"a window needs at least 2 frames, got length={length}")
        if (stride is None) == (stride_seconds is None):
            raise ValueError("give exactly one of stride (fixed) or stride_seconds (random)")
        if with_actions and stride is None:
            raise ValueError("actions need a fixed stride: chunk sizes would vary with a random stride")
        self.tracks, self.length, self.seed = tracks, length, seed
        self.with_actions, self.with_proprio = with_actions, with_proprio
        self._check_tracks()
        self._ranges = [self._stride_range(t, stride, stride_seconds) for t in tracks]
        self._index = self._build_index()

    def _check_tracks(self) -> None:
        for track in self.tracks:
            if self.with_actions and track.actions is None:
                raise ValueError(f"{track.name} has no actions but the windows need them")
            if self.with_proprio and track.proprio is None:
                raise ValueError(f"{track.name} has no proprioception but the windows need it")

    @staticmethod
    def _stride_range(track: Track, stride: int | None, seconds: tuple[float, float] | None) -> tuple[int, int]:
        if stride is not None:
            if stride < 1:
                raise ValueError(f"stride must be >= 1 frame, got {stride}")
            return stride, stride
        low, high = seconds
        if not 0 < low <= high:
            raise ValueError(f"stride_seconds must satisfy 0 < low <= high, got {seconds}")
        lo = max(1, math.ceil(low * track.fps - 1e-9))
        return lo, max(lo, math.floor(high * track.fps + 1e-9))

    def _build_index(self) -> np.ndarray:
        pairs = [np.empty((0, 2), np.int64)]
        for k, (track, (lo, _)) in enumerate(zip(self.tracks, self._ranges)):
            starts = np.arange(max(0, len(track.z) - (self.length - 1) * lo), dtype=np.int64)
            pairs.append(np.stack([np.full_like(starts, k), starts], axis=1))
        index = np.concatenate(pairs)
        if not len(index):
            raise ValueError(
                f"no track is long enough for a window of {self.length} frames at stride "
                f"{min(lo for lo, _ in self._ranges) if self._ranges else '?'}: collect longer episodes "
                "or shorten the window"
            )
        return index

    def __len__(self) -> int:
        return len(self._index)

    def _stride(self, epoch: int, index: int, track: Track, start: int, lo: int, hi: int) -> int:
        fits = (len(track.z) - 1 - start) // (self.length - 1)
        hi = min(hi, fits)
        if hi <= lo:
            return lo
        rng = np.random.default_rng([self.seed, epoch, index])
        return int(rng.integers(lo, hi + 1))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        if index < 0:
            raise IndexError(f"window index must be >= 0, got {index}")
        epoch, index = divmod(int(index), len(self._index))
        k, start = (int(v) for v in self._index[index])
        track = self.tracks[k]
        stride = self._stride(epoch, index, track, start, *self._ranges[k])
        frames = start + stride * np.arange(self.length)
        z = np.asarray(track.z[frames])
        if not np.isfinite(z).all():
            raise NonFiniteDataError(f"{track.name}: non-finite features in frames {frames.tolist()}; re-encode it")
        item: dict[str, torch.Tensor | int] = {
            "z": torch.from_numpy(z),
            "times": torch.from_numpy((np.arange(self.length) * stride / track.fps).astype(np.float32)),
            "track": k,
            "start": start,
        }
        if self.with_actions:
            chunks = np.array(track.actions[start : start + (self.length - 1) * stride], dtype=np.float32)
            item["actions"] = torch.from_numpy(chunks.reshape(self.length - 1, -1))
        if self.with_proprio:
            item["proprio"] = torch.from_numpy(np.asarray(track.proprio[frames], dtype=np.float32))
        return item


@dataclass(frozen=True)
class EpisodeSplit:
    """A seeded train/validation split of episode indices, recorded with every run.

    Attributes:
        train: training episode indices, ascending (so "the first k" are nested across k).
        val: validation episode indices, ascending.
        seed: the split's seed.
        val_fraction: the fraction asked for.
    """

    train: list[int]
    val: list[int]
    seed: int
    val_fraction: float

    def to_dict(self) -> dict:
        """A JSON-ready record of the split."""
        return {"train": self.train, "val": self.val, "seed": self.seed, "val_fraction": self.val_fraction}


def split_episodes(num_episodes: int, *, val_fraction: float, seed: int) -> EpisodeSplit:
    """Split ``range(num_episodes)`` by episode: ``round(n * val_fraction)`` (>= 1 if the fraction
    is > 0) random episodes go to validation, the rest to training."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = max(1, round(num_episodes * val_fraction)) if val_fraction > 0 else 0
    if num_episodes - n_val < 1:
        raise ValueError(f"{num_episodes} episodes leave none for training with val_fraction={val_fraction}")
    order = np.random.default_rng(seed).permutation(num_episodes)
    val = sorted(int(i) for i in order[:n_val])
    train = sorted(int(i) for i in order[n_val:])
    return EpisodeSplit(train=train, val=val, seed=seed, val_fraction=val_fraction)
