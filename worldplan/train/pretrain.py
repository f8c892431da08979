"""Action-free pretraining: next-frame prediction in feature space on clips of any frame rate.

Axis legend: L frames per clip, P patches, D feature size.

Clips of ``train.pretrain.clip_frames`` frames are cut from every source in
``train.pretrain.sources`` (episode datasets, whose actions are ignored, and video folders), at a
frame stride drawn per clip so that the time between frames lies in ``stride_seconds``; the
timestamps follow, so the predictor learns to predict at variable frame rates. All frames of a clip
are predicted in parallel (block-causal), with smooth-L1 (beta 0.1) against the cached features,
standardised by the whole corpus's statistics or, with ``train.pretrain.feature_stats=per_source``, by
each source's own (see ``feature_stats``).
Writes the action-free checkpoint to ``train.pretrain.out`` and the trainer's state to
``train.pretrain.run_dir``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from worldplan.data.windows import WindowDataset
from worldplan.models.encoder import FrozenEncoder
from worldplan.train.build import build_model, checkpoint_saver, data_window, save_run_config, settings_for
from worldplan.train.distributed import DistContext, init_distributed, shutdown
from worldplan.train.feature_stats import FEATURE_STATS, standardize_per_source, standardize_predictor
from worldplan.train.objective import NextFrameObjective
from worldplan.train.sources import pretrain_tracks
from worldplan.train.trainer import Trainer, TrainResult

__all__ = ["pretrain"]

log = logging.getLogger(__name__)


def pretrain(cfg: DictConfig) -> TrainResult:
    """Run pretraining as ``cfg`` says (one process or one torchrun rank); returns the result."""
    ctx = init_distributed(str(cfg.device))
    try:
        return _pretrain(cfg, ctx)
    finally:
        shutdown(ctx)


def _pretrain(cfg: DictConfig, ctx: DistContext) -> TrainResult:
    train_cfg, stage = cfg.train, cfg.train.pretrain
    feature_stats = _checked_feature_stats(str(stage.feature_stats), str(cfg.predictor.feature_norm))
    encoder = FrozenEncoder.from_config(cfg.encoder, device=ctx.device)
    tracks, sources = pretrain_tracks(
        list(stage.sources), encoder, ctx=ctx, batch_size=int(train_cfg.encode_batch_size),
        progress=bool(train_cfg.progress) and ctx.is_main,
    )
    model = build_model(cfg.predictor, encoder, window=data_window(train_cfg, fps=tracks[0].fps), seed=int(cfg.seed))
    if feature_stats == "pooled":
        standardize_predictor(model.predictor, tracks)
    else:  # each source by its own statistics as its frames are read; the predictor keeps the identity
        tracks = standardize_per_source(tracks, [source["items"] for source in sources],
                                        model.predictor.arch["feature_norm"])
    clips = WindowDataset(
        tracks, length=int(stage.clip_frames), stride_seconds=tuple(float(s) for s in stage.stride_seconds),
        seed=int(cfg.seed),
    )
    settings = settings_for(train_cfg, "pretrain", seed=int(cfg.seed))
    record = {
        "stage": "pretrain", "sources": sources, "feature_stats": feature_stats, "clips": len(clips),
        "seed": int(cfg.seed),
        "settings": OmegaConf.to_container(train_cfg, resolve=True),
    }
    out, run_dir = Path(stage.out), Path(stage.run_dir)
    save_run_config(cfg, run_dir, ctx)
    log.info("pretraining on %d clips from %d tracks (%d sources) into %s", len(clips), len(tracks), len(sources), out)
    trainer = Trainer(
        NextFrameObjective(model, use_actions=False), clips, settings=settings, run_dir=run_dir, ctx=ctx,
        save_model=checkpoint_saver(model, encoder, out, lambda step: {**record, "step": step}),
        progress=bool(train_cfg.progress),
    )
    record["precision"] = trainer.precision  # what train.amp resolved to on this machine (bf16 | fp32)
    return trainer.fit()



def _checked_feature_stats(feature_stats: str, feature_norm: str) -> str:
    """``train.pretrain.feature_stats``, checked before any source is encoded.

    Raises:
        ValueError: an unknown value, or ``per_source`` with ``predictor.feature_norm=none``.
    """
    if feature_stats not in FEATURE_STATS:
        raise ValueError(f"train.pretrain.feature_stats must be one of {FEATURE_STATS}; got {feature_stats!r}")
    if feature_stats == "per_source" and feature_norm == "none":
        raise ValueError("train.pretrain.feature_stats=per_source standardises features, but predictor.feature_norm "
                         "is none: use patch or channel, or feature_stats=pooled")
    return feature_stats
