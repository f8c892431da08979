"""Feature statistics of training data, for the predictor's standardisation.

Axis legend: F frames of a track, P patches, D feature size.

Computed once per run, in float64, streaming over the tracks' cached features. Pretraining
computes them on its corpus; fine-tuning from scratch on its training episodes; fine-tuning from a
pretrained checkpoint inherits the checkpoint's (the pretrained weights expect them).

Pretraining on several sources (``train.pretrain.feature_stats=per_source``) can instead standardise
each source by its own statistics as its frames are read (``standardize_per_source``), so that one
env's small changes are not drowned by the differences between envs; its predictor keeps the identity
statistics, and fine-tuning from it computes its env's statistics on its training episodes, as scratch does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from worldplan.data.windows import Track
from worldplan.models.predictor import Predictor

__all__ = ["FEATURE_STATS", "STD_FLOOR", "StandardizedFeatures", "feature_statistics", "standardize_per_source",
           "standardize_predictor"]

STD_FLOOR = 0.1  # a std below this fraction of the mean std is raised to it (never-changing features)
MIN_STD = 1e-6  # the floor when no feature changes at all
FEATURE_STATS = ("pooled", "per_source")  # train.pretrain.feature_stats

log = logging.getLogger(__name__)


def feature_statistics(tracks: Sequence[Track], mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of every frame's features, each (P, D) float32.

    Args:
        tracks: the training tracks; their ``z`` is (F, P, D).
        mode: ``patch`` (a statistic per patch and feature) or ``channel`` (per feature, shared by
            all patches).

    Raises:
        ValueError: no frames, or an unknown mode.
    """
    if mode not in ("patch", "channel"):
        raise ValueError(f"feature statistics mode must be 'patch' or 'channel'; got {mode!r}")
    if not sum(len(track.z) for track in tracks):
        raise ValueError("no frames to compute feature statistics from: the training data is empty")
    total = squares = 0.0
    frames = 0
    for track in tracks:
        z = np.asarray(track.z, dtype=np.float64)
        total, squares, frames = total + z.sum(0), squares + np.square(z).sum(0), frames + len(z)
    mean, mean_square = total / frames, squares / frames
    if mode == "channel":
        mean, mean_square = np.broadcast_to(mean.mean(0), mean.shape), np.broadcast_to(mean_square.mean(0), mean.shape)
    std = np.sqrt(np.clip(mean_square - mean**2, 0.0, None))
    std = np.maximum(std, max(STD_FLOOR * std.mean(), MIN_STD))
    return torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)


def standardize_predictor(predictor: Predictor, tracks: Sequence[Track]) -> None:
    """Set ``predictor``'s feature statistics from ``tracks`` as its ``feature_norm`` says (``none``: identity)."""
    mode = predictor.arch["feature_norm"]
    if mode == "none":
        return
    mean, std = feature_statistics(tracks, mode)
    predictor.set_feature_statistics(mean, std)
    log.info("feature statistics (%s) from %d tracks: median std %.4g", mode, len(tracks), float(std.median()))


class StandardizedFeatures:
    """A track's (F, P, D) features, standardised by (P, D) ``mean`` and ``std`` as frames are read.

    Reads like the cached array it wraps (``len``, indexing, ``np.asarray``; the same dtype), so the
    standardised corpus is never held in memory: only the frames of a batch are transformed.
    """

    def __init__(self, z: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.z, self.mean, self.std = z, mean.numpy(), std.numpy()

    def __len__(self) -> int:
        return len(self.z)

    def __getitem__(self, index) -> np.ndarray:
        return ((np.asarray(self.z[index], dtype=np.float32) - self.mean) / self.std).astype(self.z.dtype)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self[:] if dtype is None else self[:].astype(dtype)


def standardize_per_source(tracks: Sequence[Track], items: Sequence[int], mode: str) -> list[Track]:
    """``tracks`` with each source's features standardised by that source's statistics.

    Args:
        tracks: the tracks of every source, source after source.
        items: how many of ``tracks`` each source gave, in order (they sum to ``len(tracks)``).
        mode: ``patch`` or ``channel``, as ``feature_statistics``.
    """
    if sum(items) != len(tracks):
        raise ValueError(f"{len(tracks)} tracks but the sources list {sum(items)} items")
    standardized, start = [], 0
    for count in items:
        source = tracks[start : start + count]
        mean, std = feature_statistics(source, mode)
        log.info("feature statistics (%s) of source %s..: median std %.4g", mode, source[0].name, float(std.median()))
        standardized += [replace(track, z=StandardizedFeatures(track.z, mean, std)) for track in source]
        start += count
    return standardized
