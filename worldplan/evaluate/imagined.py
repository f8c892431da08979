"""The imagined panel of episode videos: what each plan predicts, made visible.

Axis legend: K plans of an episode, L executed env steps, E dataset episodes, F frames of an episode,
P patches, D feature size, S image side.

For each plan of an episode that gets a video, the MPC loop keeps the world model's prediction for the
plan's *last* step (``EpisodeResult.imagined``, (K, P, D)): where the planner believes its actions
lead, the latents its cost compares with the goal's; so the panel sits beside the goal. Video frame t
shows the prediction of the latest plan made at or before env step t. The latents are drawn by a pixel
decoder trained on frozen features (``eval.decoder``, panel "decoded"), or, without one, stood in for
by the dataset frame whose cached features are nearest (panel "nearest": a real frame, not a rendering
of the prediction). Either runs only when the videos are written, after the episodes: never in the
planning cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldplan.data.episodes import EpisodeDataset
from worldplan.data.features import FeatureCache
from worldplan.evaluate.episode import EpisodeResult
from worldplan.models.decoder import load_decoder

logger = logging.getLogger(__name__)

RENDER_BATCH = 64  # latents decoded per decoder call


@dataclass(frozen=True)
class ImaginedSource:
    """How predicted latents become the frames of the imagined panel.

    Attributes:
        title: the panel's title in the video: "decoded" or "nearest".
        record: what each video's sidecar records about the source (kind and path).
        render: (K, P, D) float32 latents -> (K, S', S', 3) uint8 frames.
    """

    title: str
    record: dict[str, Any]
    render: Callable[[np.ndarray], np.ndarray]


def decoder_source(path: str | Path, *, encoder_identity: Mapping[str, Any], device: torch.device) -> ImaginedSource:
    """Decode the latents with the decoder at ``path`` (trained on this encoder's features).

    Raises:
        FileNotFoundError, CheckpointError: not a decoder, or one of another encoder's features.
    """
    decoder = load_decoder(path, encoder_identity=encoder_identity, device=device)

    def render(z: np.ndarray) -> np.ndarray:
        chunks = [decoder.frames(torch.from_numpy(z[i : i + RENDER_BATCH]).to(device)).cpu().numpy()
                  for i in range(0, len(z), RENDER_BATCH)]
        return np.concatenate(chunks)

    return ImaginedSource(title="decoded", record={"source": "decoder", "path": str(Path(path).resolve())},
                          render=render)


def neighbour_source(path: str | Path, *, encoder_identity: Mapping[str, Any],
                     device: torch.device) -> ImaginedSource:
    """Stand in for the latents with the nearest frames (by mean squared feature distance) of the dataset
    at ``path``, read from its feature cache for this encoder (nothing is encoded here).

    Raises:
        DatasetError: ``path`` is not an episode dataset.
        CacheNotFoundError, StaleCacheError: it has no up-to-date cache of this encoder (`worldplan encode`).
    """
    dataset = EpisodeDataset.open(path)
    cache = FeatureCache.open(dataset, dict(encoder_identity))

    def render(z: np.ndarray) -> np.ndarray:
        queries = torch.from_numpy(z).to(device).flatten(1)  # (K, P*D)
        best, where = [], []
        for episode in range(len(cache)):
            features = torch.from_numpy(np.asarray(cache.features(episode), np.float32)).to(device).flatten(1)
            distance, frame = torch.cdist(queries, features).min(dim=1)  # (K,) over the episode's F frames
            best.append(distance)
            where.append(frame)
        episodes = torch.stack(best).argmin(dim=0)  # (K,) over the E episodes
        frames = torch.stack(where)[episodes, torch.arange(len(z), device=episodes.device)]
        return np.stack([dataset[e].frames[t] for e, t in zip(episodes.tolist(), frames.tolist())])

    return ImaginedSource(title="nearest", record={"source": "nearest_dataset_frame",
                                                   "dataset": str(Path(path).resolve())}, render=render)


def imagined_source(*, decoder: str | None, neighbours: str | None, checkpoint_meta: Mapping[str, Any] | None,
                    encoder_identity: Mapping[str, Any], device: torch.device) -> ImaginedSource | None:
    """The source of the imagined panel: the decoder if given, else the nearest frames of ``neighbours``,
    else of the checkpoint's training dataset when it still has a feature cache of this encoder (else None,
    logged: the videos stay observation | goal).

    Raises:
        as `decoder_source` / `neighbour_source` for a decoder or dataset that was given.
    """
    if decoder:
        return decoder_source(decoder, encoder_identity=encoder_identity, device=device)
    if neighbours:
        return neighbour_source(neighbours, encoder_identity=encoder_identity, device=device)
    dataset = ((checkpoint_meta or {}).get("train") or {}).get("dataset")
    if not dataset:
        return None
    try:
        return neighbour_source(dataset, encoder_identity=encoder_identity, device=device)
    except (FileNotFoundError, ValueError) as err:  # moved dataset, no cache of this encoder, changed data
        logger.info("videos show observation | goal (no eval.decoder, and no nearest frames: %s)", err)
        return None


def _resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(K, h, w, 3) -> (K, height, width, 3) by nearest pixels."""
    rows = np.arange(height) * frames.shape[1] // height
    cols = np.arange(width) * frames.shape[2] // width
    return frames[:, rows][:, :, cols]


def imagined_video(result: EpisodeResult, source: ImaginedSource) -> np.ndarray:
    """(L + 1, S, S, 3) uint8: at each frame, the drawn prediction of the latest plan made by then.

    Args:
        result: an episode that kept its frames (L + 1, S, S, 3) and its plans' predictions (K, P, D).
        source: how latents become frames.
    """
    drawn = _resize(source.render(result.imagined), *result.frames.shape[1:3])  # (K, S, S, 3)
    plan = np.searchsorted(result.imagined_steps, np.arange(len(result.frames)), side="right") - 1  # (L + 1,)
    return drawn[plan]
