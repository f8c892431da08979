"""Train the viewing-only pixel decoder (``worldplan decoder``) on an episode dataset's cached features.

Axis legend: M frames in a batch, P patches, D feature size, S image side.

Reads ``cfg.decoder`` (configs/decoder/default.yaml), ``cfg.encoder``, ``cfg.seed``, ``cfg.device`` and
``cfg.train.{encode_batch_size,progress}``. The dataset is encoded once into its feature cache (shared
with fine-tuning); each step draws a seeded batch of (frame, features) pairs from all episodes and
minimises the pixel loss (L2 or L1 on RGB in [0, 1]). The decoder draws frames of the dataset's size,
and is saved with the encoder's identity so that planning refuses it for other features.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from worldplan.data.episodes import EpisodeDataset
from worldplan.data.features import FeatureCache, encode_dataset
from worldplan.models.decoder import PatchDecoder, save_decoder
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.precision import resolve_device

__all__ = ["LOSSES", "DecoderResult", "FramePairs", "check_settings", "fit_decoder", "train_decoder"]

LOSSES = {"l2": torch.square, "l1": torch.abs}  # of the pixel error, averaged

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecoderResult:
    """What a decoder training run did: its steps, the per-step losses and where it saved the decoder."""

    steps: int
    losses: list[float]
    out: Path


class FramePairs:
    """Every frame of a dataset with its cached features, drawn in seeded random batches.

    Args:
        dataset: the episode dataset (its frames, memory-mapped).
        cache: its feature cache for one encoder.
    """

    def __init__(self, dataset: EpisodeDataset, cache: FeatureCache) -> None:
        self.dataset, self.cache = dataset, cache
        self.starts = np.cumsum([0] + [cache.features(i).shape[0] for i in range(len(cache))])  # (E + 1,)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, P, D) float32 features and (M, S, S, 3) uint8 frames of ``size`` frames drawn with replacement."""
        flat = torch.randint(len(self), (size,), generator=generator).numpy()
        episodes = np.searchsorted(self.starts, flat, side="right") - 1
        pairs = list(zip(episodes.tolist(), (flat - self.starts[episodes]).tolist()))
        z = np.stack([self.cache.features(e)[t] for e, t in pairs]).astype(np.float32)
        frames = np.stack([self.dataset[e].frames[t] for e, t in pairs])
        return torch.from_numpy(z), torch.from_numpy(frames)


def fit_decoder(decoder: PatchDecoder, pairs: FramePairs, *, steps: int, batch_size: int, lr: float, loss: str,
                seed: int, device: torch.device, progress: bool = False) -> list[float]:
    """Train ``decoder`` in place for ``steps`` AdamW steps of ``batch_size`` frames with the pixel ``loss``
    (a key of ``LOSSES``); return the loss of every step."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=0.0)
    decoder.train()
    losses = []
    bar = tqdm(range(steps), desc="decoder", disable=not progress)
    for _ in bar:
        z, frames = pairs.batch(batch_size, generator)
        target = frames.to(device).float().div(255)  # (M, S, S, 3)
        error = decoder(z.to(device)) - target
        value = LOSSES[loss](error).mean()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        losses.append(value.item())
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    return losses


def check_settings(stage: DictConfig) -> None:
    """Refuse a bad ``cfg.decoder`` before any encoding or training.

    Raises:
        ValueError: an unknown loss, or fewer than one step or frame per batch.
    """
    if stage.loss not in LOSSES:
        raise ValueError(f"decoder.loss={stage.loss!r} is not one of {', '.join(LOSSES)}")
    if int(stage.steps) < 1 or int(stage.batch_size) < 1 or int(stage.width) < 1:
        raise ValueError(f"decoder.steps, decoder.batch_size and decoder.width must be >= 1; got {stage.steps}, "
                         f"{stage.batch_size} and {stage.width}")


def train_decoder(cfg: DictConfig) -> DecoderResult:
    """Encode ``cfg.decoder.dataset`` if needed, train a decoder on it and save it to ``cfg.decoder.out``."""
    stage, device, progress = cfg.decoder, resolve_device(str(cfg.device)), bool(cfg.train.progress)
    check_settings(stage)
    dataset = EpisodeDataset.open(stage.dataset)
    encoder = FrozenEncoder.from_config(cfg.encoder, device=device)
    cache = encode_dataset(dataset, encoder, batch_size=int(cfg.train.encode_batch_size), device=device,
                           progress=progress)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg.seed))
        decoder = PatchDecoder(feature_dim=encoder.dim, grid=encoder.grid, image_size=dataset.meta.image_size,
                               width=int(stage.width)).to(device)
    pairs = FramePairs(dataset, cache)
    log.info("training a pixel decoder on %d frames of %s for %d steps", len(pairs), dataset.path, stage.steps)
    losses = fit_decoder(decoder, pairs, steps=int(stage.steps), batch_size=int(stage.batch_size), lr=float(stage.lr),
                         loss=str(stage.loss), seed=int(cfg.seed), device=device, progress=progress)
    record = {"dataset": str(Path(stage.dataset).resolve()), "env_id": dataset.meta.env_id, "frames": len(pairs),
              "steps": int(stage.steps), "batch_size": int(stage.batch_size), "lr": float(stage.lr),
              "loss": str(stage.loss), "seed": int(cfg.seed), "first_loss": losses[0], "final_loss": losses[-1]}
    out = save_decoder(stage.out, decoder, encoder_identity=encoder.identity(), meta=record)
    return DecoderResult(steps=len(losses), losses=losses, out=out)
