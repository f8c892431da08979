"""Training data sources: open episode datasets and video folders, make their feature caches, cut tracks.

Axis legend: F frames of a track, T env steps of an episode, P patches, D feature size, A_env env
action size, Sp proprioception size.

A source path is an episode dataset when it holds ``meta.json``, otherwise a folder of videos.
Under DDP only rank 0 encodes; the other ranks wait, then open the finished cache read-only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch.distributed as dist

from worldplan.data.episodes import META_FILE, EpisodeDataset
from worldplan.data.features import FeatureCache, encode_dataset
from worldplan.data.videos_folder import VideoFolder
from worldplan.data.windows import Track
from worldplan.models.encoder import FrozenEncoder
from worldplan.train.distributed import DistContext

__all__ = ["open_source", "ensure_cache", "source_tracks", "episode_tracks", "pretrain_tracks"]

log = logging.getLogger(__name__)


def open_source(path: str | Path, *, frame_size: int) -> EpisodeDataset | VideoFolder:
    """An ``EpisodeDataset`` if ``path`` holds ``meta.json``, else a ``VideoFolder`` of ``frame_size`` px.

    Raises:
        FileNotFoundError: ``path`` does not exist (with the command that makes it).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"training source {path} does not exist: collect it (`worldplan collect data.out={path}`) "
            "or point train.pretrain.sources / train.finetune.dataset at an existing dataset or video folder"
        )
    if (path / META_FILE).exists():
        return EpisodeDataset.open(path)
    return VideoFolder(path, size=frame_size)


def ensure_cache(
    source: EpisodeDataset | VideoFolder, encoder: FrozenEncoder, *, ctx: DistContext, batch_size: int, progress: bool
) -> FeatureCache:
    """The up-to-date feature cache of ``source``: rank 0 encodes what is missing, the others wait.

    The others wait in a process-group barrier (default timeout 30 min): encode large corpora
    beforehand with ``worldplan encode``.
    """
    cache = None
    if ctx.is_main:
        cache = encode_dataset(source, encoder, batch_size=batch_size, device=ctx.device, progress=progress)
    if ctx.is_distributed:
        dist.barrier()
    return cache if cache is not None else FeatureCache.open(source, encoder.identity())


def source_tracks(cache: FeatureCache) -> list[Track]:
    """Every item of a cache as an action-free track (pretraining: actions are ignored)."""
    return [cache.track(i) for i in range(len(cache))]


def episode_tracks(dataset: EpisodeDataset, cache: FeatureCache, indices: list[int], *,
                   proprio: bool = False) -> list[Track]:
    """Episodes ``indices`` as tracks with their (T, A_env) actions and, with ``proprio``, their (T+1, Sp)
    proprioception (fine-tuning)."""
    return [cache.track(i, actions=dataset[i].actions, proprio=dataset[i].proprio if proprio else None)
            for i in indices]


def pretrain_tracks(
    paths: list[str], encoder: FrozenEncoder, *, ctx: DistContext, batch_size: int, progress: bool
) -> tuple[list[Track], list[dict]]:
    """Tracks of every pretraining source, and a record of the sources (path, kind, items).

    Raises:
        ValueError: no source given.
    """
    if not paths:
        raise ValueError("train.pretrain.sources is empty: list episode datasets and/or video folders")
    tracks, record = [], []
    size = int(encoder.identity()["image_size"])
    for path in paths:
        source = open_source(path, frame_size=size)
        cache = ensure_cache(source, encoder, ctx=ctx, batch_size=batch_size, progress=progress)
        tracks += source_tracks(cache)
        kind = "episodes" if isinstance(source, EpisodeDataset) else "videos"
        record.append({"path": str(path), "kind": kind, "items": len(cache), "cache": str(cache.directory)})
        log.info("pretraining source %s: %d %s", path, len(cache), kind)
    return tracks, record
