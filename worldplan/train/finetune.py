"""Action-conditioned fine-tuning on one episode dataset, from pretrained weights or from scratch.

Axis legend: T context frames, H evaluation horizon, P patches, D feature size, A action size of
one model step (frameskip x A_env).

``train.init`` is the only difference between the two baselines: ``pretrained`` copies the
pretrain checkpoint's predictor into the action-conditioned model (its action blocks stay
zero-initialised, so it starts as exactly the pretrained model), ``scratch`` keeps the random
initialisation. Architecture, data, split, seed, steps and schedule are the same. ``train.mode``
picks what trains: ``actions`` (action blocks only) or ``all``. Episodes are split into train and
validation by episode (seeded); ``train.finetune.episodes = k`` uses only the first k training
episodes. ``train.proprio`` feeds the dataset's proprioception to the model with the actions and
trains it to predict it (DINO-WM's proprio; the checkpoint keeps its normalisation). At the end
(and every ``eval_every`` steps) the validation latent error per rollout step 1..H is logged with
the copy-last-frame baseline's; the checkpoint directory gets ``metrics.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from worldplan.atomic import write_json_atomic
from worldplan.byo.factory import env_identity, records_env, resolve_env
from worldplan.data.episodes import EpisodeDataset
from worldplan.data.windows import EpisodeSplit, Track, WindowDataset, split_episodes
from worldplan.models.actions import FINETUNE_MODES, finetune_parameters
from worldplan.models.checkpoint import load_pretrained_weights
from worldplan.models.encoder import FrozenEncoder
from worldplan.models.hub import is_hub_ref
from worldplan.models.world_model import WorldModel
from worldplan.train.build import (
    build_model,
    checkpoint_saver,
    data_window,
    save_run_config,
    settings_for,
    with_encoder,
)
from worldplan.train.distributed import DistContext, init_distributed, shutdown
from worldplan.train.feature_stats import standardize_predictor
from worldplan.train.objective import NextFrameObjective, rollout_errors
from worldplan.train.sources import ensure_cache, episode_tracks
from worldplan.train.trainer import Trainer, TrainResult

__all__ = ["INITS", "FinetuneSetup", "finetune", "prepare", "check_dataset_env", "check_dataset_proprio",
           "training_episodes", "initialise"]

INITS = ("pretrained", "scratch")
METRICS_FILE = "metrics.json"

log = logging.getLogger(__name__)


def finetune(cfg: DictConfig) -> TrainResult:
    """Run fine-tuning as ``cfg`` says (one process or one torchrun rank); returns the result."""
    if cfg.train.init not in INITS or cfg.train.mode not in FINETUNE_MODES:
        raise ValueError(f"train.init must be one of {INITS} and train.mode one of {FINETUNE_MODES}; "
                         f"got init={cfg.train.init!r}, mode={cfg.train.mode!r}")
    ctx = init_distributed(str(cfg.device))
    try:
        return _finetune(cfg, ctx)
    finally:
        shutdown(ctx)


def check_dataset_env(dataset: EpisodeDataset, env_cfg: DictConfig) -> None:
    """Refuse a dataset collected on another env than ``env_cfg`` (``cfg.env``), whose frameskip and
    identity the checkpoint would take. A dataset that records no env (an import without a simulator)
    is not checked.

    Raises:
        ValueError: naming both envs.
    """
    if not records_env(dataset.meta.env_id):
        log.info("dataset %s records no env (%s): not checked against env.id", dataset.path, dataset.meta.env_id)
        return
    collected = env_identity(dataset.meta.env_id, dataset.meta.env_kwargs)
    configured = env_identity(*resolve_env(env_cfg))
    if collected != configured:
        raise ValueError(f"dataset {dataset.path} was collected on {collected} but the env is {configured}; "
                         f"fine-tune with its env (env=...) or point train.finetune.dataset at a dataset of "
                         f"{configured}")


def check_dataset_proprio(dataset: EpisodeDataset, proprio: bool) -> None:
    """With ``proprio`` (``train.proprio``), the dataset must store proprioception.

    Raises:
        ValueError: naming the dataset and the ways out.
    """
    if proprio and not dataset.meta.proprio_dim:
        raise ValueError(f"train.proprio=true but dataset {dataset.path} has no proprioception (proprio_dim 0: its "
                         f"env {dataset.meta.env_id} exposes none, or it was collected before datasets stored it): "
                         "collect it again from an env with proprioception, or set train.proprio=false")


def training_episodes(split: EpisodeSplit, episodes: int | None) -> list[int]:
    """The first ``episodes`` training episodes of ``split`` (all when None)."""
    if episodes is None:
        return split.train
    if not 1 <= episodes <= len(split.train):
        raise ValueError(f"train.finetune.episodes={episodes} but the split has {len(split.train)} training "
                         "episodes: collect more or lower it")
    return split.train[:episodes]


def initialise(
    model: WorldModel, encoder: FrozenEncoder, *, init: str, pretrained: str | Path, tracks: list[Track]
) -> None:
    """Apply ``init``: load the pretrained predictor (action blocks untouched, feature statistics
    included) or keep the random one and take the feature statistics of the training ``tracks``.
    A checkpoint pretrained with per-source statistics has none of this env's: they are taken from
    ``tracks`` too."""
    if init == "scratch":
        standardize_predictor(model.predictor, tracks)
        return
    if not is_hub_ref(pretrained) and not Path(pretrained).exists():
        raise FileNotFoundError(f"no pretrained checkpoint at {pretrained}: run `worldplan pretrain` first, "
                                "point train.finetune.pretrained at one, or use train.init=scratch")
    meta = load_pretrained_weights(with_encoder(model, encoder), pretrained)
    log.info("initialised the predictor from %s (action blocks zero-initialised)", pretrained)
    if (meta.get("train") or {}).get("feature_stats") == "per_source":
        standardize_predictor(model.predictor, tracks)


def _windows(dataset: EpisodeDataset, cache: Any, ids: list[int], *, length: int, stride: int, seed: int,
             proprio: bool) -> WindowDataset:
    tracks = episode_tracks(dataset, cache, ids, proprio=proprio)
    return WindowDataset(tracks, length=length, stride=stride, with_actions=True, with_proprio=proprio, seed=seed)


@dataclass
class FinetuneSetup:
    """Everything a fine-tuning run trains and evaluates, before the first step.

    Attributes:
        model: the action-conditioned world model (no encoder), initialised per ``train.init``.
        encoder: the frozen encoder (attached to checkpoints).
        train_windows: (context + horizon)-frame windows of the training episodes, with actions (and
            proprioception with ``train.proprio``).
        val_windows: (context + eval_horizon)-frame windows of the validation episodes.
        record: what the checkpoint's ``meta.json`` and ``metrics.json`` record about the run.
    """

    model: WorldModel
    encoder: FrozenEncoder
    train_windows: WindowDataset
    val_windows: WindowDataset
    record: dict[str, Any]


def prepare(cfg: DictConfig, ctx: DistContext) -> FinetuneSetup:
    """Build the model, data and record of a fine-tuning run (encodes the dataset if needed)."""
    train_cfg, stage, seed, proprio = cfg.train, cfg.train.finetune, int(cfg.seed), bool(cfg.train.proprio)
    dataset = EpisodeDataset.open(stage.dataset)
    check_dataset_env(dataset, cfg.env)
    check_dataset_proprio(dataset, proprio)
    encoder = FrozenEncoder.from_config(cfg.encoder, device=ctx.device)
    cache = ensure_cache(dataset, encoder, ctx=ctx, batch_size=int(train_cfg.encode_batch_size),
                         progress=bool(train_cfg.progress) and ctx.is_main)
    split = split_episodes(len(dataset), val_fraction=float(train_cfg.val_fraction), seed=seed)
    train_ids = training_episodes(split, stage.episodes)
    window = data_window(train_cfg, fps=dataset.meta.fps)
    length, stride = window.context + window.horizon, window.frameskip
    train_windows = _windows(dataset, cache, train_ids, length=length, stride=stride, seed=seed, proprio=proprio)
    val_windows = _windows(dataset, cache, split.val, length=window.context + int(train_cfg.window.eval_horizon),
                           stride=stride, seed=seed, proprio=proprio)
    model = build_model(cfg.predictor, encoder, window=window, seed=seed, action_dim=stride * dataset.meta.action_dim,
                        action_stats=dataset.meta.normalisation("action"),
                        proprio_stats=dataset.meta.normalisation("proprio") if proprio else None,
                        frame_size=dataset.meta.image_size)
    initialise(model, encoder, init=train_cfg.init, pretrained=stage.pretrained, tracks=train_windows.tracks)
    finetune_parameters(model.predictor, str(train_cfg.mode))
    record: dict[str, Any] = {
        "stage": "finetune", "init": train_cfg.init, "mode": train_cfg.mode,
        "dataset": str(Path(stage.dataset).resolve()), "env_id": dataset.meta.env_id,
        "env_kwargs": dict(dataset.meta.env_kwargs),
        "pretrained": str(stage.pretrained) if train_cfg.init == "pretrained" else None, "seed": seed,
        "split": split.to_dict(), "train_episodes": train_ids, "train_windows": len(train_windows),
        "val_windows": len(val_windows), "settings": OmegaConf.to_container(train_cfg, resolve=True), "metrics": {},
    }
    return FinetuneSetup(model=model, encoder=encoder, train_windows=train_windows, val_windows=val_windows,
                         record=record)


def _finetune(cfg: DictConfig, ctx: DistContext) -> TrainResult:
    train_cfg, stage = cfg.train, cfg.train.finetune
    setup = prepare(cfg, ctx)
    model, record = setup.model, setup.record

    def evaluate(step: int) -> dict:
        errors = rollout_errors(model, setup.val_windows, context=model.window.context,
                                batch_size=int(train_cfg.eval_batch_size), device=ctx.device)
        record["metrics"] = {"step": step, **errors}
        return record["metrics"]

    out, run_dir = Path(stage.out), Path(stage.run_dir)
    save_run_config(cfg, run_dir, ctx)
    log.info("fine-tuning (init=%s, mode=%s) on %d episodes / %d windows; validating on %d episodes",
             train_cfg.init, train_cfg.mode, len(record["train_episodes"]), len(setup.train_windows),
             len(record["split"]["val"]))
    trainer = Trainer(
        NextFrameObjective(model, use_actions=True, rollout_weight=float(train_cfg.rollout_loss)), setup.train_windows,
        settings=settings_for(train_cfg, "finetune", seed=int(cfg.seed)), run_dir=run_dir, ctx=ctx,
        save_model=checkpoint_saver(model, setup.encoder, out, lambda step: {**record, "step": step}),
        evaluate=evaluate, progress=bool(train_cfg.progress),
    )
    record["precision"] = trainer.precision  # what train.amp resolved to on this machine (bf16 | fp32)
    result = trainer.fit()
    if ctx.is_main:
        write_json_atomic(out / METRICS_FILE, {**record, "step": result.step, "final_train_loss": result.loss})
    return result
