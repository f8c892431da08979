"""What pretraining and fine-tuning share: settings, the data window, the model, checkpoint saving.

Axis legend: P patches, D feature size, A action size of one model step (frameskip x A_env),
Sp proprioception size.

Training works from cached features, so the trained ``WorldModel`` has no encoder; checkpoints
attach the frozen encoder (sharing the trained predictor and normalisation buffers) so that
``load_world_model`` gives a model that encodes frames and records the encoder's identity.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from worldplan.config import save_config
from worldplan.models.checkpoint import save_checkpoint
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.predictor import Predictor
from worldplan.models.world_model import DataWindow, WorldModel
from worldplan.train.distributed import DistContext
from worldplan.train.trainer import TrainSettings

# The keys each stage reads under train.<stage>; besides them, the stage may override any trainer knob.
STAGE_KEYS = {"pretrain": ("sources", "clip_frames", "stride_seconds", "feature_stats", "out", "run_dir"),
              "finetune": ("dataset", "episodes", "pretrained", "out", "run_dir")}
STAGE_OVERRIDABLE = {f.name for f in fields(TrainSettings)} - {"seed"}

__all__ = [
    "check_stage_keys", "settings_for", "data_window", "build_model", "with_encoder", "checkpoint_saver",
    "save_run_config",
]


def check_stage_keys(train_cfg: DictConfig, stage: str) -> None:
    """Refuse a key under ``train.<stage>`` that nothing reads (a typo would otherwise be dropped silently).

    Raises:
        ValueError: naming the key, the nearest valid one and all valid ones.
    """
    valid = sorted(set(STAGE_KEYS[stage]) | STAGE_OVERRIDABLE)
    for key in train_cfg[stage]:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1)
            hint = f"did you mean train.{stage}.{near[0]}? " if near else ""
            raise ValueError(f"train.{stage}.{key} is not a setting of the {stage} stage; {hint}"
                             f"valid keys under train.{stage}: {', '.join(valid)}")


def settings_for(train_cfg: DictConfig, stage: str, *, seed: int) -> TrainSettings:
    """The trainer settings of ``stage`` (``pretrain`` | ``finetune``): the shared ``train.*`` knobs
    overridden by any of them set under ``train.<stage>``.

    Raises:
        ValueError: ``train.<stage>`` holds a key that is neither the stage's own nor a trainer knob.
    """
    check_stage_keys(train_cfg, stage)
    shared = OmegaConf.to_container(train_cfg, resolve=True)
    merged = {**shared, **OmegaConf.to_container(train_cfg[stage], resolve=True)}
    return TrainSettings.from_config(merged, seed=seed)


def data_window(train_cfg: DictConfig, *, fps: float) -> DataWindow:
    """The model's ``DataWindow`` from ``train.window`` and the data's frame rate."""
    window = train_cfg.window
    return DataWindow(context=int(window.context), horizon=int(window.horizon), frameskip=int(window.frameskip),
                      fps=float(fps))


def build_model(
    predictor_cfg: DictConfig, encoder: FrozenEncoder, *, window: DataWindow, seed: int,
    action_dim: int | None = None, action_stats: tuple[np.ndarray, np.ndarray] | None = None,
    proprio_stats: tuple[np.ndarray, np.ndarray] | None = None, frame_size: int | None = None,
) -> WorldModel:
    """A freshly initialised encoder-less world model; its weights depend only on ``seed`` and the
    architecture, so pretrained and scratch fine-tuning start from the same action blocks.

    Args:
        predictor_cfg: the ``predictor`` config group.
        encoder: gives P (grid) and D.
        window: the data window.
        seed: initialisation seed.
        action_dim: A for an action-conditioned model, None for an action-free one.
        action_stats: (mean, std) of env actions, each (A_env,).
        proprio_stats: (mean, std) of proprioception, each (Sp,), for a model that takes and predicts
            it (an action-conditioned one); None: no proprioception.
        frame_size: S of the frames the model is for (checked by ``WorldModel.encode``).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        predictor = Predictor.from_config(
            OmegaConf.to_container(predictor_cfg, resolve=True), feature_dim=encoder.dim, grid=encoder.grid,
            action_dim=action_dim, proprio_dim=0 if proprio_stats is None else len(proprio_stats[0]),
        )
    return WorldModel(predictor=predictor, window=window, action_stats=_as_tensors(action_stats),
                      proprio_stats=_as_tensors(proprio_stats), frame_size=frame_size)


def _as_tensors(stats: tuple[np.ndarray, np.ndarray] | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(mean, std) arrays as tensors; None stays None."""
    return None if stats is None else (torch.as_tensor(stats[0]), torch.as_tensor(stats[1]))


def _model_stats(model: WorldModel, name: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The model's ``<name>_mean`` and ``<name>_std`` buffers (``action``, ``proprio``), None if it has none."""
    return (getattr(model, f"{name}_mean"), getattr(model, f"{name}_std")) if hasattr(model, f"{name}_mean") else None


def with_encoder(model: WorldModel, encoder: FrozenEncoder) -> WorldModel:
    """``model`` with ``encoder`` attached, sharing its predictor and normalisation (for checkpoints)."""
    return WorldModel(predictor=model.predictor, window=model.window, encoder=encoder,
                      action_stats=_model_stats(model, "action"), proprio_stats=_model_stats(model, "proprio"),
                      frame_size=model.frame_size)


def checkpoint_saver(
    model: WorldModel, encoder: FrozenEncoder, out: Path, meta: Callable[[int], Mapping[str, Any]]
) -> Callable[[int], None]:
    """A ``save_model(step)`` for the trainer: writes ``model`` + ``encoder`` to ``out`` with
    ``meta(step)`` under the checkpoint's ``train`` key."""

    def save(step: int) -> None:
        save_checkpoint(out, with_encoder(model, encoder), meta={"train": dict(meta(step))})

    return save


def save_run_config(cfg: DictConfig, run_dir: Path, ctx: DistContext) -> None:
    """Write the resolved config beside the run's state (rank 0)."""
    if ctx.is_main:
        save_config(cfg, run_dir)
